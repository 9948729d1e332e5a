"""Limits of third-party servers that some real-server tests run into, stated once."""

NATIVE_AGENT_ON_LLAMA_CPP_PYTHON_SERVER = (
    "llama-cpp-python's chatml-function-calling format leaves tool-call arguments unbounded under "
    "tool_choice='auto' and drops tool turns, so the multi-turn native agent times out on that server "
    "(single tool calls, whole and streamed, are tested there)"
)
