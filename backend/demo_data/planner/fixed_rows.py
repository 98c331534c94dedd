"""Drawing the rows the history refers to: tags (and who has them), cashiers, segments."""

from __future__ import annotations

from datetime import timedelta

from backend.demo_data.plan import Cashier
from backend.demo_data.planner.draws import Draws
from backend.demo_data.shop import CASHIERS, segment_specs
from backend.demo_data.vocabulary import TAGS
from backend.domain.segments import parse_rules


class FixedRowDraws(Draws):
    """Drawing the rows the history refers to: tags (and who has them), cashiers, segments."""

    def _tags(self) -> None:
        next_id = self.existing.next_ids["tags"]
        for name in TAGS:
            if name in self.existing.tag_ids:
                self.tag_ids[name] = self.existing.tag_ids[name]
                continue
            self.tag_ids[name] = next_id
            self.plan.tags.append({"id": next_id, "name": name})
            next_id += 1
        for person in self.people:
            for name in person.tags:
                self.plan.customer_tags.append(
                    {"customer_id": person.id, "tag_id": self.tag_ids[name]}
                )

    def _cashiers(self) -> None:
        next_id = self.existing.next_ids["cashiers"]
        for offset, spec in enumerate(CASHIERS):
            joined_at = self._during_hours(
                self.now - timedelta(days=spec.joined_days_ago + 1),
                self.now - timedelta(days=spec.joined_days_ago),
            )
            cashier = Cashier(next_id + offset, spec.store, joined_at)
            self.cashiers.append(cashier)
            self.plan.cashiers.append(
                {
                    "id": cashier.id,
                    "name": spec.name,
                    "store": spec.store,
                    "telegram_id": self._telegram_id(self.existing.cashier_telegram_ids),
                    "invite_code_hash": None,
                    "invite_expires_at": None,
                    "joined_at": joined_at,
                    "is_active": True,
                    "created_at": joined_at - timedelta(hours=self.rng.randrange(2, 48)),
                }
            )

    def _segments(self) -> None:
        next_id = self.existing.next_ids["segments"]
        for spec in segment_specs(self.now):
            name = spec.name
            if name.casefold() in self.existing.segment_names:
                name = f"{name} (демо)"
            # Stored as the segments service stores them: validated, in canonical form.
            rules = parse_rules(spec.rules).model_dump(mode="json", exclude_none=True)
            created_at = self.now - timedelta(days=spec.created_days_ago, hours=3)
            updated_at = self.now - timedelta(days=spec.updated_days_ago, hours=2)
            self.segment_ids[spec.name] = (next_id, rules)
            self.plan.segments.append(
                {
                    "id": next_id,
                    "name": name,
                    "description": spec.description,
                    "rules": rules,
                    "created_at": created_at,
                    "updated_at": max(created_at, updated_at),
                }
            )
            next_id += 1
