"""The refusal breaker: a run whose first replies are all one permanent refusal meets a relay refusing us."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.deliver import SendError, address_gone, enhanced_status
from newsletter.store.ledger import Delivery, Outcome

# How many alike refusals, with nothing accepted before them, stop a run. A relay refusing us
# refuses every reader, so ten is soon reached; ten readers in a row that really are refused alike
# would be rare at the start of a run, and even then the run only stops (exit 5) and loses nothing.
# A constant for now: a [delivery] setting would also need its range listed in the config tests.
RELAY_REFUSALS = 10


@dataclass
class RefusalBreaker:
    """Holds back the run's first permanent failures while they are all alike and nothing was accepted.

    A relay that will not relay for us (no login, a sender it does not know) answers every RCPT
    with the same 5xx, such as "554 5.7.1 Relay access denied" or Exim's bare "550 relay not
    permitted". Recorded one by one, that failed every row for good, and bounced every reader on a
    bare 550. So those failures are held: at `limit` alike, the breaker trips and the rows go back
    to the queue; once any other reply comes (accepted, deferred, refused otherwise), they are the
    readers' own and are recorded as they are.
    """

    limit: int = RELAY_REFUSALS
    held: list[Outcome] = field(default_factory=list)
    armed: bool = True
    reason: str | None = None
    _key: tuple[int | None, str | None] | None = None

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def take(self, outcome: Outcome, error: BaseException | None) -> list[Outcome]:
        """The outcomes to record now: none while this one is held, else it and any it sets free."""
        if not self.armed:
            return [outcome]
        key = None
        if isinstance(error, SendError) and error.permanent and outcome.status == "failed":
            status = enhanced_status(error.reply)
            # "5.1.1 User unknown" names the reader's address: a relay that answers so has looked
            # at each reader, and ten dead addresses in a row must not stop every run.
            key = None if status is not None and address_gone(status) else (error.code, status)
        if key is not None and (self._key is None or key == self._key):
            self._key = key
            self.held.append(outcome)
            if len(self.held) >= self.limit and self.reason is None:
                self.reason = (
                    f"the relay refused the first {len(self.held)} recipients alike ({self.held[0].reply}), "
                    "so it refuses our mail, not theirs: check the SMTP login and what the relay lets "
                    "this sender send; the rest waits for the next run"
                )
            return []
        if self.tripped:
            # Whatever comes after the trip, the rows already held go back to the queue.
            return [outcome]
        # Accepted, deferred or refused otherwise: the relay answers readers differently, so the
        # refusals were their own. Deciding at the first such reply also keeps the held rows few
        # and brief, well within their claim's lease.
        self.armed = False
        return [*self.release_held(), outcome]

    def release_held(self) -> list[Outcome]:
        """The held outcomes, no longer held."""
        held, self.held = self.held, []
        return held

    def give_back(self) -> list[Delivery]:
        """Once tripped, the held rows, to hand back to the queue unattempted."""
        return [outcome.delivery for outcome in self.release_held()] if self.tripped else []
