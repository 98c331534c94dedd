"""All tables, importable from one place (Alembic's target metadata is `Base.metadata`)."""

from backend.domain.models.audit import AuditEntry
from backend.domain.models.base import Base
from backend.domain.models.broadcasts import Broadcast, BroadcastDelivery
from backend.domain.models.content import Segment, ShopSetting, Template
from backend.domain.models.customers import Customer, Tag, customer_tags
from backend.domain.models.discounts import Discount
from backend.domain.models.enums import (
    ActorKind,
    AdminRole,
    BroadcastStatus,
    CustomerStatus,
    DeliveryStatus,
    DiscountKind,
    DiscountStatus,
    ParseMode,
)
from backend.domain.models.heartbeats import ReplicaHeartbeat
from backend.domain.models.jobs import BulkJob, JobState
from backend.domain.models.kpi_days import (
    KpiConversion,
    KpiCustomerDay,
    KpiDiscountDay,
    KpiIssue,
    KpiRedemption,
)
from backend.domain.models.notifications import CustomerNotification, NotificationStatus
from backend.domain.models.staff import (
    Admin,
    AdminLoginToken,
    Cashier,
    LoginAttempt,
    RevokedToken,
    TelegramUpdate,
)
from backend.domain.models.task_runs import TaskRun, TaskRunState

__all__ = [
    "ActorKind",
    "Admin",
    "AdminLoginToken",
    "AdminRole",
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastStatus",
    "BulkJob",
    "Cashier",
    "Customer",
    "CustomerNotification",
    "CustomerStatus",
    "DeliveryStatus",
    "Discount",
    "DiscountKind",
    "DiscountStatus",
    "JobState",
    "KpiConversion",
    "KpiCustomerDay",
    "KpiDiscountDay",
    "KpiIssue",
    "KpiRedemption",
    "LoginAttempt",
    "NotificationStatus",
    "ParseMode",
    "ReplicaHeartbeat",
    "RevokedToken",
    "Segment",
    "ShopSetting",
    "Tag",
    "TaskRun",
    "TaskRunState",
    "TelegramUpdate",
    "Template",
    "customer_tags",
]
