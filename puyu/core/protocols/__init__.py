"""Tool protocols: how a conversation becomes prompt text and how the model's reply is read back."""
from puyu.core.protocols.base import Parsed, Protocol
from puyu.core.protocols.internlm2 import InternLM2Protocol
from puyu.core.protocols.openai_tools import OpenAIToolsProtocol
from puyu.core.protocols.react import ReActProtocol

PROTOCOLS = {"internlm2": InternLM2Protocol, "react": ReActProtocol, "openai": OpenAIToolsProtocol}

__all__ = ["PROTOCOLS", "InternLM2Protocol", "OpenAIToolsProtocol", "Parsed", "Protocol", "ReActProtocol"]
