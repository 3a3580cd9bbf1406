"""Actors: tasks that alone own mutable state and read bounded mailboxes."""

from .actor import Actor as Actor
from .actor import ActorStatistics as ActorStatistics
from .mailbox import Request as Request
from .virtual import ActorRegistry as ActorRegistry
from .virtual import RegistryStatistics as RegistryStatistics
