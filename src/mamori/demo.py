"""The demo organisation: a fictional job-matching product, its teams, people and services.

Each domain adds its own demo data through its plugin's `seed_demo`. Seeding is
idempotent: running `make demo` twice leaves one copy of everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mamori.core import auth, manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.integrations import inbox as demo_inbox
from mamori.integrations.notify import Notifiers
from mamori.integrations.tickets import Trackers

DEMO_CONFIG = Path(__file__).resolve().parent / "demo_config"
DEMO_EMAIL = "admin@jobs.example"
DEMO_PASSWORD = "mamori-demo"  # noqa: S105 (the documented demo login)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


def install_inbox(runtime: Runtime) -> demo_inbox.Inbox:
    """Route every channel and tracker the settings leave unconfigured into an in-memory inbox, shown on the
    dashboard's Inbox page: a demo's pages and tickets land where a visitor sees them."""
    inbox = demo_inbox.Inbox()
    notifiers, trackers = demo_inbox.route_unconfigured(inbox, runtime.state(Notifiers), runtime.state(Trackers))
    for item in (inbox, notifiers, trackers):
        runtime.states.put(item)
    return inbox


def seed(runtime: Runtime) -> DemoLogin:
    bundle = manifest.load(DEMO_CONFIG, runtime.kinds)
    manifest.apply(runtime, bundle, actor=Actor(name="demo", source="config"))
    with runtime.sessions.begin() as session:
        user = auth.get_user(session, DEMO_EMAIL)
        if user.password_hash is None:
            auth.set_password(session, user=user, password=DEMO_PASSWORD, now=runtime.now(), actor=Actor.system("demo"))
    for plugin in runtime.plugins:
        if plugin.seed_demo is not None:
            plugin.seed_demo(runtime)
    return DemoLogin(email=DEMO_EMAIL, password=DEMO_PASSWORD)
