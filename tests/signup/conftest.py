"""Fixtures of the signup tests: the fake model server and a Celery worker configured for it.

The worker is a real ``celery worker -P solo`` subprocess on the test databases, like the shared
``celery_worker`` fixture, but on a queue of its own and with the model settings in its
environment (the shared worker may already run without them when the whole suite runs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stop_process
from tests.signup.fake_openai import FakeOpenAI

WORKER_LLM_TIMEOUT = "1.0"
WORKER_RETRY_DELAYS = "0.2,0.2"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    queue: str
    log_path: Path
    mail_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: no chance to ack or clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process, group=True)


def start_worker(
    *,
    queue: str,
    workdir: Path,
    fake: FakeOpenAI,
    extra_env: dict[str, str] | None = None,
    pool: str = "solo",
) -> Worker:
    from tests.conftest import start_celery_worker, test_database_environment

    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"worker-{time.monotonic_ns()}.log"
    mail_dir = workdir / "mail"
    env = {
        **os.environ,
        **test_database_environment(),
        "CELERY_QUEUE": queue,
        "SIGNUP_TASK_QUEUE": queue,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_TIMEOUT_SECONDS": WORKER_LLM_TIMEOUT,
        "SIGNUP_LLM_RETRY_DELAYS": WORKER_RETRY_DELAYS,
        "EMAIL_FILE_PATH": str(mail_dir),
        **(extra_env or {}),
    }
    name = f"signup-{os.getpid()}-{time.monotonic_ns()}@localhost"
    process = start_celery_worker(name=name, queue=queue, env=env, log_path=log_path, pool=pool)
    return Worker(process, queue, log_path, mail_dir)


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def signup_worker(
    django_db_setup: None, fake_openai: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    from django.conf import settings

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-signup"
    worker = start_worker(queue=queue, workdir=tmp_path_factory.mktemp("signup"), fake=fake_openai)
    yield worker
    worker.stop()


@pytest.fixture
def llm_settings(settings: Any, fake_openai: FakeOpenAI) -> Any:
    """The test process talks to the fake model with a short timeout and short retry delays."""
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_TIMEOUT_SECONDS = float(WORKER_LLM_TIMEOUT)
    settings.SIGNUP_LLM_RETRY_DELAYS = [float(d) for d in WORKER_RETRY_DELAYS.split(",")]
    settings.SIGNUP_LLM_MAX_TRIES = 3
    return settings


@pytest.fixture
def pipeline(llm_settings: Any, signup_worker: Worker) -> Worker:
    """Signup tasks enqueued by the test process go to the signup worker."""
    llm_settings.SIGNUP_TASK_QUEUE = signup_worker.queue
    return signup_worker
