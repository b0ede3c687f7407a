"""Tool protocols: how a conversation becomes prompt text and how the model's reply is read back."""
from agent.protocols.base import Parsed, Protocol
from agent.protocols.internlm2 import InternLM2Protocol
from agent.protocols.openai_tools import OpenAIToolsProtocol
from agent.protocols.react import ReActProtocol

PROTOCOLS = {"internlm2": InternLM2Protocol, "react": ReActProtocol, "openai": OpenAIToolsProtocol}

__all__ = ["PROTOCOLS", "InternLM2Protocol", "OpenAIToolsProtocol", "Parsed", "Protocol", "ReActProtocol"]
