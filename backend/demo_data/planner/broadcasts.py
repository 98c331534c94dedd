"""Drawing past broadcasts and their delivery ledger (which is how blocked customers are found)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from backend.demo_data.plan import Person
from backend.demo_data.planner.draws import Draws
from backend.demo_data.shop import BROADCASTS, ZONE
from backend.demo_data.vocabulary import BLOCKED_ERROR, DELIVERY_ERRORS
from backend.domain.models import BroadcastStatus, CustomerStatus, DeliveryStatus
from backend.domain.segments import CustomerFacts, matches, parse_rules


class BroadcastDraws(Draws):
    """Past broadcasts with one delivery per recipient; bounces reveal who blocked the bot."""

    def _broadcasts(self) -> list[tuple[dict[str, Any], int]]:
        """Past broadcasts, one delivery per recipient; returns (delivery, percent) of promos."""
        broadcast_id = self.existing.next_ids["broadcasts"]
        delivery_id = self.existing.next_ids["broadcast_deliveries"]
        promo_sent: list[tuple[dict[str, Any], int]] = []
        for spec in BROADCASTS:
            day = self.today - timedelta(days=spec.days_ago)
            started_at = datetime.combine(day, time(spec.local_hour, 0), ZONE).astimezone(UTC)
            started_at += timedelta(seconds=self.rng.randrange(3))
            if started_at >= self.now:
                continue
            segment_id, rules = (None, {"status": ["active"]})
            if spec.segment is not None:
                segment_id, rules = self.segment_ids[spec.segment]
            audience = self._audience(rules, started_at)
            reached = len(audience)
            if spec.cancelled_after is not None:
                reached = int(len(audience) * spec.cancelled_after)
            moment = started_at
            for position, person in enumerate(audience):
                moment = started_at + timedelta(seconds=position / self.settings.send_rate)
                row = self._delivery(delivery_id, broadcast_id, person, moment, position < reached)
                self.plan.deliveries.append(row)
                delivery_id += 1
                if spec.promo_percent and row["status"] is DeliveryStatus.SENT:
                    promo_sent.append((row, spec.promo_percent))
            finished_at = (
                started_at + timedelta(seconds=reached / self.settings.send_rate + 5)
                if spec.cancelled_after is not None
                else moment + timedelta(seconds=2)
            )
            status = (
                BroadcastStatus.CANCELLED
                if spec.cancelled_after is not None
                else BroadcastStatus.COMPLETED
            )
            created_at = started_at - timedelta(days=1, hours=self.rng.randrange(1, 6))
            self.plan.broadcasts.append(
                {
                    "id": broadcast_id,
                    "title": spec.title,
                    "text": spec.text,
                    "parse_mode": spec.parse_mode,
                    "segment_id": segment_id,
                    "rules_snapshot": rules,
                    "promo_percent": spec.promo_percent,
                    "status": status,
                    "scheduled_at": started_at.replace(second=0),
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "created_by_admin_id": None,
                    "updated_at": finished_at,
                    "created_at": created_at,
                }
            )
            broadcast_id += 1
        return promo_sent

    def _audience(self, rules: dict[str, Any], moment: datetime) -> list[Person]:
        """Who the rules selected when sending started (only tag/status/profile rules)."""
        parsed = parse_rules(rules)
        audience = []
        for person in self.people:
            if not person.active_at(moment):
                continue
            facts = CustomerFacts(
                status=CustomerStatus.ACTIVE,
                tags=frozenset(person.tags),
                subscribed_at=person.row["subscribed_at"],
                birth_month=person.row["birth_month"],
                last_seen_at=min(person.row["last_seen_at"], moment),
                source=person.row["source"],
            )
            if matches(parsed, facts, now=moment):
                audience.append(person)
        return audience

    def _delivery(
        self, delivery_id: int, broadcast_id: int, person: Person, moment: datetime, reached: bool
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": delivery_id,
            "broadcast_id": broadcast_id,
            "customer_id": person.id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "last_error": None,
            "telegram_message_id": None,
            "sent_at": None,
        }
        if not reached:
            return row
        if person.blocked_bot_at is not None and person.blocked_bot_at <= moment:
            # Telegram refused: this is how the shop learnt the customer blocked the bot.
            person.row["unsubscribed_at"] = moment
            person.blocked_bot_at = None
            row.update(status=DeliveryStatus.BLOCKED, attempts=1, last_error=BLOCKED_ERROR)
        elif self.rng.random() < 0.012:
            row.update(
                status=DeliveryStatus.FAILED,
                attempts=3,
                last_error=self.rng.choice(DELIVERY_ERRORS),
            )
        else:
            message_id = self.message_ids.get(person.id, self.rng.randrange(3, 40))
            message_id += self.rng.randrange(1, 30)
            self.message_ids[person.id] = message_id
            row.update(
                status=DeliveryStatus.SENT,
                attempts=1 if self.rng.random() < 0.98 else 2,
                telegram_message_id=message_id,
                sent_at=moment,
            )
        return row

    def _blocked_without_broadcast(self) -> None:
        """Blocked customers no broadcast reached: a birthday greeting or reply bounced."""
        for person in self.people:
            if person.blocked_bot_at is not None:
                person.row["unsubscribed_at"] = person.blocked_bot_at
                person.blocked_bot_at = None
