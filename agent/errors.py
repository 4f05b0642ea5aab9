"""One exception hierarchy for the agent side, so the console and the CLI catch one thing."""


class AgentError(Exception):
    """Base class: a failure with a message fit to show the person."""


class ConfigurationError(AgentError):
    """Settings that cannot work (unknown broker, a gateway URL without a key, ...)."""


class BrokerUnavailable(AgentError):
    """A broker could not be reached, even after reconnecting."""


class BrokerToolError(AgentError):
    """A broker tool answered with an error (a rejected order, an unknown symbol)."""

    def __init__(self, broker: str, tool: str, message: str, structured: dict | None = None):
        self.broker = broker
        self.tool = tool
        self.structured = structured
        super().__init__(message)
