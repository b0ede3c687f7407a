"""The vocabulary every layer shares: messages and events, tool protocols, the model card, configuration."""
