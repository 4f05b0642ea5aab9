"""Model choice: the embedded offline model by default, an OpenAI or OpenAI-compatible LLM when configured."""

from __future__ import annotations

from collections.abc import Sequence

from agents import Model, OpenAIChatCompletionsModel, set_tracing_disabled
from openai import AsyncOpenAI

from agent.language import BrokerRef
from agent.offline_model import MODEL_NAME, OfflineTradingModel
from agent.settings import AgentSettings

# Traces would leave the machine; the console keeps conversations local.
set_tracing_disabled(True)


def build_model(settings: AgentSettings, brokers: Sequence[BrokerRef]) -> tuple[Model, str]:
    """The model to run and a label for it: OpenAI (key), any OpenAI-compatible server (base URL), or offline."""
    if settings.uses_llm:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        client = AsyncOpenAI(api_key=key, base_url=settings.openai_base_url or None, max_retries=1, timeout=60)
        label = settings.model if not settings.openai_base_url else f"{settings.model} @ {settings.openai_base_url}"
        return OpenAIChatCompletionsModel(model=settings.model, openai_client=client), label
    return OfflineTradingModel(brokers, settings.default_broker), MODEL_NAME
