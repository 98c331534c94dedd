/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type ActorKind =
  | 'ADMIN'
  | 'CASHIER'
  | 'CUSTOMER'
  | 'SYSTEM';

export type AdminRole =
  | 'MARKETING'
  | 'OWNER'
  | 'READONLY';

export type BroadcastStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'DRAFT'
  | 'FAILED'
  | 'PAUSED'
  | 'SCHEDULED'
  | 'SENDING';

export type CreateAdminInput = {
  email: string;
  password: string;
  role: AdminRole;
  telegramId?: string | null | undefined;
};

export type CreateBroadcastInput = {
  parseMode?: ParseMode;
  promoPercent?: number | null | undefined;
  /** Null: every active customer. */
  segmentId?: number | null | undefined;
  /** Up to 4096 characters; may use {first_name}, {last_name}, and with a promo percent {code}, {percent}, {expires_on}. */
  text: string;
  title: string;
};

/** All conditions must hold; omitted ones do not filter. */
export type CustomerFilter = {
  birthdayMonth?: number | null | undefined;
  createdFrom?: string | null | undefined;
  createdTo?: string | null | undefined;
  hasActiveDiscount?: boolean | null | undefined;
  /** Part of a name, or a Telegram id; also part of a username (with or without @) or phone for roles that see them (readonly does not: its search matches names and Telegram ids only). */
  search?: string | null | undefined;
  source?: Array<string> | null | undefined;
  status?: Array<CustomerStatus> | null | undefined;
  tagsAll?: Array<string> | null | undefined;
  tagsAny?: Array<string> | null | undefined;
  tagsNone?: Array<string> | null | undefined;
};

export type CustomerOrder = {
  direction?: SortDirection;
  field?: CustomerOrderField;
};

export type CustomerOrderField =
  | 'CREATED_AT'
  | 'ID'
  | 'LAST_SEEN_AT';

/** Either explicit customer ids or a segment. */
export type CustomerSelection = {
  ids?: Array<number> | null | undefined;
  segmentId?: number | null | undefined;
};

export type CustomerStatus =
  | 'ACTIVE'
  | 'BLOCKED'
  | 'UNSUBSCRIBED';

export type DeliveryStatus =
  | 'BLOCKED'
  | 'FAILED'
  | 'PENDING'
  | 'SENT';

export type DiscountFilter = {
  broadcastId?: number | null | undefined;
  cashierId?: number | null | undefined;
  customerId?: number | null | undefined;
  issuedFrom?: string | null | undefined;
  issuedTo?: string | null | undefined;
  kinds?: Array<DiscountKind> | null | undefined;
  statuses?: Array<DiscountStatus> | null | undefined;
  store?: string | null | undefined;
};

export type DiscountKind =
  | 'BIRTHDAY'
  | 'MANUAL'
  | 'PROMO'
  | 'SUBSCRIPTION';

export type DiscountStatus =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'REDEEMED';

/** How a period is cut into chart buckets. */
export type Granularity =
  | 'DAY'
  | 'MONTH'
  | 'WEEK';

export type IssueDiscountInput = {
  customerId: number;
  kind?: DiscountKind;
  percent?: number | null | undefined;
  reason: string;
  validDays?: number | null | undefined;
};

export type JobState =
  | 'COMPLETED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING';

/** Where a message to one customer stands. */
export type NotificationStatus =
  | 'FAILED'
  | 'PENDING'
  | 'SENDING'
  | 'SENT'
  | 'SKIPPED';

export type ParseMode =
  | 'HTML'
  | 'MARKDOWN_V2'
  | 'PLAIN';

export type SortDirection =
  | 'ASC'
  | 'DESC';

/** Where a background task run stands. */
export type TaskRunState =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type UpdateAdminInput = {
  isActive?: boolean | null | undefined;
  role?: AdminRole | null | undefined;
};

/** Changes what is given (null leaves a field as is); clearSegment and clearPromoPercent empty theirs. */
export type UpdateBroadcastInput = {
  clearPromoPercent?: boolean;
  clearSegment?: boolean;
  parseMode?: ParseMode | null | undefined;
  promoPercent?: number | null | undefined;
  segmentId?: number | null | undefined;
  text?: string | null | undefined;
  title?: string | null | undefined;
};

export type UpdateCustomerInput = {
  addTags?: Array<string>;
  birthday?: string | null | undefined;
  clearBirthday?: boolean;
  clearNote?: boolean;
  clearPhone?: boolean;
  note?: string | null | undefined;
  phone?: string | null | undefined;
  removeTags?: Array<string>;
};

export type AuditLogQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  entityType?: string | null | undefined;
  entityId?: string | null | undefined;
  actorKind?: ActorKind | null | undefined;
  actorId?: number | null | undefined;
  action?: string | null | undefined;
}>;


export type AuditLogQuery = { auditLog: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, at: string, actorKind: ActorKind, actorId: number | null, actorLabel: string | null, action: string, entityType: string, entityId: string | null, before: unknown, after: unknown } }> } };

export type LoginMutationVariables = Exact<{
  email: string;
  password: string;
}>;


export type LoginMutation = { login: { token: string, expiresAt: string, admin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } } };

export type LoginSessionFragment = { token: string, expiresAt: string, admin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } };

export type LoginWithTokenMutationVariables = Exact<{
  token: string;
}>;


export type LoginWithTokenMutation = { loginWithToken: { token: string, expiresAt: string, admin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } } };

export type LoginWithTokenSessionFragment = { token: string, expiresAt: string, admin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { logout: boolean };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } };

export type BroadcastDetailQueryVariables = Exact<{
  id: number;
  deliveriesFirst?: number;
  deliveriesAfter?: string | null | undefined;
  deliveryStatus?: DeliveryStatus | null | undefined;
}>;


export type BroadcastDetailQuery = { broadcast: { id: number, title: string, text: string, parseMode: ParseMode, status: BroadcastStatus, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, createdAt: string, updatedAt: string, segment: { id: number, name: string, description: string | null, rules: unknown } | null, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number }, deliveries: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, customerId: number, status: DeliveryStatus, attempts: number, lastError: string | null, sentAt: string | null, customer: { id: number, firstName: string, lastName: string | null, username: string | null } | null } }> } } | null };

export type BroadcastDetailDeliveryFragment = { id: number, customerId: number, status: DeliveryStatus, attempts: number, lastError: string | null, sentAt: string | null, customer: { id: number, firstName: string, lastName: string | null, username: string | null } | null };

export type BroadcastProgressSubscriptionVariables = Exact<{
  id: number;
}>;


export type BroadcastProgressSubscription = { broadcastProgress: { broadcastId: number, status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number, workerAlive: boolean, rate: number | null, eta: number | null } };

export type BroadcastsQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  status?: Array<BroadcastStatus> | BroadcastStatus | null | undefined;
}>;


export type BroadcastsQuery = { broadcasts: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, title: string, status: BroadcastStatus, parseMode: ParseMode, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, createdAt: string, updatedAt: string, segment: { id: number, name: string } | null, stats: { total: number, sent: number, failed: number, blocked: number, pending: number } } }> } };

export type BroadcastsRowFragment = { id: number, title: string, status: BroadcastStatus, parseMode: ParseMode, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, createdAt: string, updatedAt: string, segment: { id: number, name: string } | null, stats: { total: number, sent: number, failed: number, blocked: number, pending: number } };

export type CancelBroadcastMutationVariables = Exact<{
  id: number;
}>;


export type CancelBroadcastMutation = { cancelBroadcast: { id: number, status: BroadcastStatus, finishedAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type CancelBroadcastResultFragment = { id: number, status: BroadcastStatus, finishedAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type CreateBroadcastMutationVariables = Exact<{
  input: CreateBroadcastInput;
}>;


export type CreateBroadcastMutation = { createBroadcast: { id: number, title: string, text: string, parseMode: ParseMode, status: BroadcastStatus, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, createdAt: string, updatedAt: string, segment: { id: number, name: string } | null, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type CreateBroadcastResultFragment = { id: number, title: string, text: string, parseMode: ParseMode, status: BroadcastStatus, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, createdAt: string, updatedAt: string, segment: { id: number, name: string } | null, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type PauseBroadcastMutationVariables = Exact<{
  id: number;
}>;


export type PauseBroadcastMutation = { pauseBroadcast: { id: number, status: BroadcastStatus, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type PauseBroadcastResultFragment = { id: number, status: BroadcastStatus, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type ResumeBroadcastMutationVariables = Exact<{
  id: number;
}>;


export type ResumeBroadcastMutation = { resumeBroadcast: { id: number, status: BroadcastStatus, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type ResumeBroadcastResultFragment = { id: number, status: BroadcastStatus, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type ScheduleBroadcastMutationVariables = Exact<{
  id: number;
  at: string;
}>;


export type ScheduleBroadcastMutation = { scheduleBroadcast: { id: number, status: BroadcastStatus, scheduledAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type ScheduleBroadcastResultFragment = { id: number, status: BroadcastStatus, scheduledAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type SendBroadcastNowMutationVariables = Exact<{
  id: number;
}>;


export type SendBroadcastNowMutation = { sendBroadcastNow: { id: number, status: BroadcastStatus, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type SendBroadcastNowResultFragment = { id: number, status: BroadcastStatus, scheduledAt: string | null, startedAt: string | null, finishedAt: string | null, updatedAt: string, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type UpdateBroadcastMutationVariables = Exact<{
  id: number;
  input: UpdateBroadcastInput;
}>;


export type UpdateBroadcastMutation = { updateBroadcast: { id: number, title: string, text: string, parseMode: ParseMode, status: BroadcastStatus, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, updatedAt: string, segment: { id: number, name: string } | null, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } } };

export type UpdateBroadcastResultFragment = { id: number, title: string, text: string, parseMode: ParseMode, status: BroadcastStatus, segmentId: number | null, promoPercent: number | null, scheduledAt: string | null, updatedAt: string, segment: { id: number, name: string } | null, stats: { status: BroadcastStatus, total: number, sent: number, failed: number, blocked: number, pending: number } };

export type BulkIssueDiscountMutationVariables = Exact<{
  selection: CustomerSelection;
  kind?: DiscountKind;
  reason: string;
  percent?: number | null | undefined;
  validDays?: number | null | undefined;
}>;


export type BulkIssueDiscountMutation = { bulkIssueDiscount: { affected: number, jobId: string | null } };

export type BulkTagCustomersMutationVariables = Exact<{
  selection: CustomerSelection;
  add?: Array<string> | string | null | undefined;
  remove?: Array<string> | string | null | undefined;
}>;


export type BulkTagCustomersMutation = { bulkTagCustomers: { affected: number, jobId: string | null } };

export type CustomerCardQueryVariables = Exact<{
  id: number;
}>;


export type CustomerCardQuery = { customer: { id: number, telegramId: string, firstName: string, lastName: string | null, username: string | null, phone: string | null, birthday: string | null, language: string | null, source: string | null, status: CustomerStatus, note: string | null, createdAt: string, lastSeenAt: string, subscribedAt: string | null, tags: Array<string>, discounts: Array<{ id: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, redeemedAt: string | null, cancelledAt: string | null, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, purchaseAmount: string | null, store: string | null, broadcastId: number | null, cashier: { id: number, name: string, store: string } | null }> } | null };

export type CustomerCardDiscountFragment = { id: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, redeemedAt: string | null, cancelledAt: string | null, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, purchaseAmount: string | null, store: string | null, broadcastId: number | null, cashier: { id: number, name: string, store: string } | null };

export type CustomerListQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  filter?: CustomerFilter | null | undefined;
  orderBy?: CustomerOrder | null | undefined;
}>;


export type CustomerListQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, telegramId: string, firstName: string, lastName: string | null, username: string | null, phone: string | null, status: CustomerStatus, birthday: string | null, source: string | null, tags: Array<string>, createdAt: string, lastSeenAt: string } }> } };

export type CustomerListRowFragment = { id: number, telegramId: string, firstName: string, lastName: string | null, username: string | null, phone: string | null, status: CustomerStatus, birthday: string | null, source: string | null, tags: Array<string>, createdAt: string, lastSeenAt: string };

export type EraseCustomerMutationVariables = Exact<{
  customerId: number;
  reason: string;
}>;


export type EraseCustomerMutation = { eraseCustomer: { cancelledCodes: number, customer: { id: number, firstName: string, status: CustomerStatus } } };

export type SendCustomerMessageMutationVariables = Exact<{
  customerId: number;
  templateKey?: string | null | undefined;
  text?: string | null | undefined;
  parseMode?: ParseMode;
}>;


export type SendCustomerMessageMutation = { sendCustomerMessage: { id: number, customerId: number, status: NotificationStatus, reason: string | null, notBefore: string, sentAt: string | null } };

export type SetCustomerSubscriptionMutationVariables = Exact<{
  customerId: number;
  subscribed: boolean;
  reason: string;
}>;


export type SetCustomerSubscriptionMutation = { setCustomerSubscription: { id: number, status: CustomerStatus, subscribedAt: string | null } };

export type UpdateCustomerMutationVariables = Exact<{
  id: number;
  input: UpdateCustomerInput;
}>;


export type UpdateCustomerMutation = { updateCustomer: { id: number, firstName: string, lastName: string | null, username: string | null, phone: string | null, birthday: string | null, note: string | null, status: CustomerStatus, tags: Array<string> } };

export type KpiDashboardQueryVariables = Exact<{
  start: string;
  end: string;
  granularity?: Granularity;
}>;


export type KpiDashboardQuery = { kpi: { start: string, end: string, granularity: Granularity, zone: string, asOf: string, buckets: Array<string>, customers: { total: number, new: number, active: number, unsubscribed: number, blocked: number, newCustomers: { name: string, total: number, points: Array<{ bucket: string, value: number }> }, totalCustomers: { name: string, total: number, points: Array<{ bucket: string, value: number }> } }, discounts: { overall: { kind: DiscountKind | null, issued: number, redeemed: number, converted: number, conversion: number, issuedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> }, redeemedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> } }, byKind: Array<{ kind: DiscountKind | null, issued: number, redeemed: number, converted: number, conversion: number, issuedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> }, redeemedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> } }> }, redemptions: { byCashier: Array<{ cashierId: number | null, name: string | null, store: string | null, count: number }>, byStore: Array<{ store: string | null, count: number, series: { name: string, total: number, points: Array<{ bucket: string, value: number }> } }> }, broadcasts: Array<{ broadcastId: number, title: string, sent: number, issued: number, redeemed: number, conversion: number, sentConversion: number }> } };

export type KpiDashboardDiscountFiguresFragment = { kind: DiscountKind | null, issued: number, redeemed: number, converted: number, conversion: number, issuedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> }, redeemedSeries: { name: string, total: number, points: Array<{ bucket: string, value: number }> } };

export type KpiDashboardSeriesFragment = { name: string, total: number, points: Array<{ bucket: string, value: number }> };

export type CancelDiscountMutationVariables = Exact<{
  id: number;
  reason?: string | null | undefined;
}>;


export type CancelDiscountMutation = { cancelDiscount: { id: number, status: DiscountStatus, cancelledAt: string | null, reason: string | null } };

export type DiscountByCodeQueryVariables = Exact<{
  code: string;
}>;


export type DiscountByCodeQuery = { discount: { id: number, customerId: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, redeemedAt: string | null, cancelledAt: string | null, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, purchaseAmount: string | null, store: string | null, broadcastId: number | null, customer: { id: number, firstName: string, lastName: string | null, username: string | null, phone: string | null, status: CustomerStatus } | null, cashier: { id: number, name: string, store: string } | null } | null };

export type DiscountListQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  filter?: DiscountFilter | null | undefined;
}>;


export type DiscountListQuery = { discounts: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, customerId: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, redeemedAt: string | null, cancelledAt: string | null, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, purchaseAmount: string | null, store: string | null, broadcastId: number | null, customer: { id: number, firstName: string, lastName: string | null } | null, cashier: { id: number, name: string, store: string } | null } }> } };

export type DiscountListRowFragment = { id: number, customerId: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, redeemedAt: string | null, cancelledAt: string | null, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, purchaseAmount: string | null, store: string | null, broadcastId: number | null, customer: { id: number, firstName: string, lastName: string | null } | null, cashier: { id: number, name: string, store: string } | null };

export type DiscountNotificationQueryVariables = Exact<{
  id: number;
}>;


export type DiscountNotificationQuery = { discount: { id: number, code: string, issuedAt: string, notification: { id: number, status: NotificationStatus, reason: string | null, notBefore: string, sentAt: string | null } | null } | null };

export type DiscountStatsQueryVariables = Exact<{
  start: string;
  end: string;
}>;


export type DiscountStatsQuery = { discountStats: { start: string, end: string, zone: string, issued: number, averagePercent: number | null, redeemed: number, purchaseTotal: string, byStatus: Array<{ status: DiscountStatus, count: number }>, byKind: Array<{ kind: DiscountKind, count: number }> } };

export type IssueDiscountMutationVariables = Exact<{
  input: IssueDiscountInput;
}>;


export type IssueDiscountMutation = { issueDiscount: { id: number, customerId: number, kind: DiscountKind, percent: number, code: string, status: DiscountStatus, issuedAt: string, expiresAt: string, validThrough: string, issuedBy: ActorKind, issuedByAdminId: number | null, reason: string | null, customer: { id: number, firstName: string, lastName: string | null } | null } };

export type JobQueryVariables = Exact<{
  id: string;
}>;


export type JobQuery = { job: { id: string, kind: string, state: JobState, total: number, done: number, error: string | null, createdAt: string, startedAt: string | null, finishedAt: string | null } | null };

export type JobListQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type JobListQuery = { jobs: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, kind: string, state: JobState, total: number, done: number, createdAt: string, finishedAt: string | null } }> } };

export type JobProgressSubscriptionVariables = Exact<{
  id: string;
}>;


export type JobProgressSubscription = { jobProgress: { id: string, state: JobState, total: number, done: number, error: string | null } };

export type CreateSegmentMutationVariables = Exact<{
  name: string;
  rules: unknown;
  description?: string | null | undefined;
}>;


export type CreateSegmentMutation = { createSegment: { id: number, name: string, description: string | null, rules: unknown, count: number, createdAt: string, updatedAt: string } };

export type DeleteSegmentMutationVariables = Exact<{
  id: number;
}>;


export type DeleteSegmentMutation = { deleteSegment: boolean };

export type PreviewSegmentQueryVariables = Exact<{
  rules: unknown;
  first?: number;
}>;


export type PreviewSegmentQuery = { previewSegment: { count: number, sample: Array<{ id: number, firstName: string, lastName: string | null, username: string | null, status: CustomerStatus, tags: Array<string> }> } };

export type PreviewSegmentMemberFragment = { id: number, firstName: string, lastName: string | null, username: string | null, status: CustomerStatus, tags: Array<string> };

export type SegmentDetailQueryVariables = Exact<{
  id: number;
  previewFirst?: number;
}>;


export type SegmentDetailQuery = { segment: { id: number, name: string, description: string | null, rules: unknown, createdAt: string, updatedAt: string, count: number, preview: Array<{ id: number, firstName: string, lastName: string | null, username: string | null, phone: string | null, status: CustomerStatus, tags: Array<string>, lastSeenAt: string }> } | null };

export type SegmentDetailMemberFragment = { id: number, firstName: string, lastName: string | null, username: string | null, phone: string | null, status: CustomerStatus, tags: Array<string>, lastSeenAt: string };

export type SegmentsQueryVariables = Exact<{ [key: string]: never; }>;


export type SegmentsQuery = { segments: Array<{ id: number, name: string, description: string | null, rules: unknown, count: number, createdAt: string, updatedAt: string }> };

export type UpdateSegmentMutationVariables = Exact<{
  id: number;
  name?: string | null | undefined;
  rules?: unknown;
  description?: string | null | undefined;
}>;


export type UpdateSegmentMutation = { updateSegment: { id: number, name: string, description: string | null, rules: unknown, count: number, createdAt: string, updatedAt: string } };

export type SettingsQueryVariables = Exact<{ [key: string]: never; }>;


export type SettingsQuery = { settings: Array<{ key: string, value: unknown, default: unknown, description: string, type: string, minimum: number | null, maximum: number | null }> };

export type UpdateSettingMutationVariables = Exact<{
  key: string;
  value: unknown;
}>;


export type UpdateSettingMutation = { updateSetting: { key: string, value: unknown, default: unknown, description: string, type: string, minimum: number | null, maximum: number | null } };

export type AdminsQueryVariables = Exact<{ [key: string]: never; }>;


export type AdminsQuery = { admins: Array<{ id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string }> };

export type CashiersQueryVariables = Exact<{ [key: string]: never; }>;


export type CashiersQuery = { cashiers: Array<{ id: number, name: string, store: string, isActive: boolean, joinedAt: string | null, createdAt: string }> };

export type CreateAdminMutationVariables = Exact<{
  input: CreateAdminInput;
}>;


export type CreateAdminMutation = { createAdmin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } };

export type InviteCashierMutationVariables = Exact<{
  name: string;
  store: string;
}>;


export type InviteCashierMutation = { inviteCashier: { inviteCode: string, expiresAt: string, cashier: { id: number, name: string, store: string, isActive: boolean, joinedAt: string | null, createdAt: string } } };

export type SetCashierActiveMutationVariables = Exact<{
  id: number;
  active: boolean;
}>;


export type SetCashierActiveMutation = { setCashierActive: { id: number, name: string, store: string, isActive: boolean, joinedAt: string | null, createdAt: string } };

export type UpdateAdminMutationVariables = Exact<{
  id: number;
  input: UpdateAdminInput;
}>;


export type UpdateAdminMutation = { updateAdmin: { id: number, email: string, role: AdminRole, telegramId: string | null, isActive: boolean, createdAt: string } };

export type RetryTaskRunMutationVariables = Exact<{
  id: number;
}>;


export type RetryTaskRunMutation = { retryTaskRun: { id: number, taskId: string, task: string, state: TaskRunState, queuedAt: string, retryOf: string | null } };

export type TaskRunsQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  task?: string | null | undefined;
  state?: TaskRunState | null | undefined;
}>;


export type TaskRunsQuery = { taskRuns: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: number, taskId: string, task: string, state: TaskRunState, queuedAt: string, startedAt: string | null, finishedAt: string | null, attempts: number, worker: string | null, errorType: string | null, error: string | null, retryable: boolean, retryOf: string | null, retriedAs: string | null } }> } };

export type TaskStatsQueryVariables = Exact<{
  since: string;
}>;


export type TaskStatsQuery = { taskStats: Array<{ task: string, queued: number, running: number, succeeded: number, failed: number, runsPerMinute: number }> };

export type CreateTemplateMutationVariables = Exact<{
  key: string;
  text: string;
  parseMode?: ParseMode;
  description?: string | null | undefined;
}>;


export type CreateTemplateMutation = { createTemplate: { id: number, key: string, text: string, parseMode: ParseMode, description: string | null, updatedAt: string, placeholders: Array<string> } };

export type DeleteTemplateMutationVariables = Exact<{
  key: string;
}>;


export type DeleteTemplateMutation = { deleteTemplate: boolean };

export type TemplatesQueryVariables = Exact<{ [key: string]: never; }>;


export type TemplatesQuery = { templates: Array<{ id: number, key: string, text: string, parseMode: ParseMode, description: string | null, updatedAt: string, placeholders: Array<string> }> };

export type UpdateTemplateMutationVariables = Exact<{
  key: string;
  text?: string | null | undefined;
  parseMode?: ParseMode | null | undefined;
  description?: string | null | undefined;
}>;


export type UpdateTemplateMutation = { updateTemplate: { id: number, key: string, text: string, parseMode: ParseMode, description: string | null, updatedAt: string, placeholders: Array<string> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const LoginSessionFragmentDoc = new TypedDocumentString(`
    fragment LoginSession on Session {
  token
  expiresAt
  admin {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"fragmentName":"LoginSession"}) as unknown as TypedDocumentString<LoginSessionFragment, unknown>;
export const LoginWithTokenSessionFragmentDoc = new TypedDocumentString(`
    fragment LoginWithTokenSession on Session {
  token
  expiresAt
  admin {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"fragmentName":"LoginWithTokenSession"}) as unknown as TypedDocumentString<LoginWithTokenSessionFragment, unknown>;
export const BroadcastDetailDeliveryFragmentDoc = new TypedDocumentString(`
    fragment BroadcastDetailDelivery on Delivery {
  id
  customerId
  status
  attempts
  lastError
  sentAt
  customer {
    id
    firstName
    lastName
    username
  }
}
    `, {"fragmentName":"BroadcastDetailDelivery"}) as unknown as TypedDocumentString<BroadcastDetailDeliveryFragment, unknown>;
export const BroadcastsRowFragmentDoc = new TypedDocumentString(`
    fragment BroadcastsRow on Broadcast {
  id
  title
  status
  parseMode
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  startedAt
  finishedAt
  createdAt
  updatedAt
  stats {
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"BroadcastsRow"}) as unknown as TypedDocumentString<BroadcastsRowFragment, unknown>;
export const CancelBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment CancelBroadcastResult on Broadcast {
  id
  status
  finishedAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"CancelBroadcastResult"}) as unknown as TypedDocumentString<CancelBroadcastResultFragment, unknown>;
export const CreateBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment CreateBroadcastResult on Broadcast {
  id
  title
  text
  parseMode
  status
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  startedAt
  finishedAt
  createdAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"CreateBroadcastResult"}) as unknown as TypedDocumentString<CreateBroadcastResultFragment, unknown>;
export const PauseBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment PauseBroadcastResult on Broadcast {
  id
  status
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"PauseBroadcastResult"}) as unknown as TypedDocumentString<PauseBroadcastResultFragment, unknown>;
export const ResumeBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment ResumeBroadcastResult on Broadcast {
  id
  status
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"ResumeBroadcastResult"}) as unknown as TypedDocumentString<ResumeBroadcastResultFragment, unknown>;
export const ScheduleBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment ScheduleBroadcastResult on Broadcast {
  id
  status
  scheduledAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"ScheduleBroadcastResult"}) as unknown as TypedDocumentString<ScheduleBroadcastResultFragment, unknown>;
export const SendBroadcastNowResultFragmentDoc = new TypedDocumentString(`
    fragment SendBroadcastNowResult on Broadcast {
  id
  status
  scheduledAt
  startedAt
  finishedAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"SendBroadcastNowResult"}) as unknown as TypedDocumentString<SendBroadcastNowResultFragment, unknown>;
export const UpdateBroadcastResultFragmentDoc = new TypedDocumentString(`
    fragment UpdateBroadcastResult on Broadcast {
  id
  title
  text
  parseMode
  status
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}
    `, {"fragmentName":"UpdateBroadcastResult"}) as unknown as TypedDocumentString<UpdateBroadcastResultFragment, unknown>;
export const CustomerCardDiscountFragmentDoc = new TypedDocumentString(`
    fragment CustomerCardDiscount on Discount {
  id
  kind
  percent
  code
  status
  issuedAt
  expiresAt
  validThrough
  redeemedAt
  cancelledAt
  issuedBy
  issuedByAdminId
  reason
  purchaseAmount
  store
  broadcastId
  cashier {
    id
    name
    store
  }
}
    `, {"fragmentName":"CustomerCardDiscount"}) as unknown as TypedDocumentString<CustomerCardDiscountFragment, unknown>;
export const CustomerListRowFragmentDoc = new TypedDocumentString(`
    fragment CustomerListRow on Customer {
  id
  telegramId
  firstName
  lastName
  username
  phone
  status
  birthday
  source
  tags
  createdAt
  lastSeenAt
}
    `, {"fragmentName":"CustomerListRow"}) as unknown as TypedDocumentString<CustomerListRowFragment, unknown>;
export const KpiDashboardSeriesFragmentDoc = new TypedDocumentString(`
    fragment KpiDashboardSeries on Series {
  name
  total
  points {
    bucket
    value
  }
}
    `, {"fragmentName":"KpiDashboardSeries"}) as unknown as TypedDocumentString<KpiDashboardSeriesFragment, unknown>;
export const KpiDashboardDiscountFiguresFragmentDoc = new TypedDocumentString(`
    fragment KpiDashboardDiscountFigures on DiscountKindKpi {
  kind
  issued
  redeemed
  converted
  conversion
  issuedSeries {
    ...KpiDashboardSeries
  }
  redeemedSeries {
    ...KpiDashboardSeries
  }
}
    fragment KpiDashboardSeries on Series {
  name
  total
  points {
    bucket
    value
  }
}`, {"fragmentName":"KpiDashboardDiscountFigures"}) as unknown as TypedDocumentString<KpiDashboardDiscountFiguresFragment, unknown>;
export const DiscountListRowFragmentDoc = new TypedDocumentString(`
    fragment DiscountListRow on Discount {
  id
  customerId
  kind
  percent
  code
  status
  issuedAt
  expiresAt
  validThrough
  redeemedAt
  cancelledAt
  issuedBy
  issuedByAdminId
  reason
  purchaseAmount
  store
  broadcastId
  customer {
    id
    firstName
    lastName
  }
  cashier {
    id
    name
    store
  }
}
    `, {"fragmentName":"DiscountListRow"}) as unknown as TypedDocumentString<DiscountListRowFragment, unknown>;
export const PreviewSegmentMemberFragmentDoc = new TypedDocumentString(`
    fragment PreviewSegmentMember on Customer {
  id
  firstName
  lastName
  username
  status
  tags
}
    `, {"fragmentName":"PreviewSegmentMember"}) as unknown as TypedDocumentString<PreviewSegmentMemberFragment, unknown>;
export const SegmentDetailMemberFragmentDoc = new TypedDocumentString(`
    fragment SegmentDetailMember on Customer {
  id
  firstName
  lastName
  username
  phone
  status
  tags
  lastSeenAt
}
    `, {"fragmentName":"SegmentDetailMember"}) as unknown as TypedDocumentString<SegmentDetailMemberFragment, unknown>;
export const AuditLogDocument = new TypedDocumentString(`
    query AuditLog($first: Int! = 50, $after: String, $entityType: String, $entityId: String, $actorKind: ActorKind, $actorId: Int, $action: String) {
  auditLog(
    first: $first
    after: $after
    entityType: $entityType
    entityId: $entityId
    actorKind: $actorKind
    actorId: $actorId
    action: $action
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        id
        at
        actorKind
        actorId
        actorLabel
        action
        entityType
        entityId
        before
        after
      }
    }
  }
}
    `, {"hash":"sha256:e7332ed95f492c7567442316ce4297b3726884c1dcf45991d3bb6b686044a96f"}) as unknown as TypedDocumentString<AuditLogQuery, AuditLogQueryVariables>;
export const LoginDocument = new TypedDocumentString(`
    mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    ...LoginSession
  }
}
    fragment LoginSession on Session {
  token
  expiresAt
  admin {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}`, {"hash":"sha256:2883d7b87df180be8471d084b46d237254eaa0d492966a5e318f68f70a46ab8f"}) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const LoginWithTokenDocument = new TypedDocumentString(`
    mutation LoginWithToken($token: String!) {
  loginWithToken(token: $token) {
    ...LoginWithTokenSession
  }
}
    fragment LoginWithTokenSession on Session {
  token
  expiresAt
  admin {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}`, {"hash":"sha256:45d16f85508cc6a1a13cad3c75e43ccb5a0d30c8732e63b693eff5941bcad3ef"}) as unknown as TypedDocumentString<LoginWithTokenMutation, LoginWithTokenMutationVariables>;
export const LogoutDocument = new TypedDocumentString(`
    mutation Logout {
  logout
}
    `, {"hash":"sha256:cb1d14c1cc99a25294cfa4376de2402364cb32e6c038a11fb36cf0ebb3a5ce91"}) as unknown as TypedDocumentString<LogoutMutation, LogoutMutationVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"hash":"sha256:e15a0db02ff282a2cd6d5fffdf7b5a1864bda80addd11a95190def463ca70e42"}) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const BroadcastDetailDocument = new TypedDocumentString(`
    query BroadcastDetail($id: Int!, $deliveriesFirst: Int! = 50, $deliveriesAfter: String, $deliveryStatus: DeliveryStatus) {
  broadcast(id: $id) {
    id
    title
    text
    parseMode
    status
    segmentId
    segment {
      id
      name
      description
      rules
    }
    promoPercent
    scheduledAt
    startedAt
    finishedAt
    createdAt
    updatedAt
    stats {
      status
      total
      sent
      failed
      blocked
      pending
    }
    deliveries(
      first: $deliveriesFirst
      after: $deliveriesAfter
      status: $deliveryStatus
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...BroadcastDetailDelivery
        }
      }
    }
  }
}
    fragment BroadcastDetailDelivery on Delivery {
  id
  customerId
  status
  attempts
  lastError
  sentAt
  customer {
    id
    firstName
    lastName
    username
  }
}`, {"hash":"sha256:77af67bfe7f15976d96275419ac09669f06d7a88d5d85051c12e39c389c162f9"}) as unknown as TypedDocumentString<BroadcastDetailQuery, BroadcastDetailQueryVariables>;
export const BroadcastProgressDocument = new TypedDocumentString(`
    subscription BroadcastProgress($id: Int!) {
  broadcastProgress(id: $id) {
    broadcastId
    status
    total
    sent
    failed
    blocked
    pending
    workerAlive
    rate
    eta
  }
}
    `, {"hash":"sha256:f4809ded90822f1bba010e170347fba0ed644d062dc11f1df92d5094e0b064e7"}) as unknown as TypedDocumentString<BroadcastProgressSubscription, BroadcastProgressSubscriptionVariables>;
export const BroadcastsDocument = new TypedDocumentString(`
    query Broadcasts($first: Int! = 50, $after: String, $status: [BroadcastStatus!]) {
  broadcasts(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        ...BroadcastsRow
      }
    }
  }
}
    fragment BroadcastsRow on Broadcast {
  id
  title
  status
  parseMode
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  startedAt
  finishedAt
  createdAt
  updatedAt
  stats {
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:2cbd16ab9d5e0f05dfbfcb5c6c7145061820da9362abb1c95fc2f9da18b3b742"}) as unknown as TypedDocumentString<BroadcastsQuery, BroadcastsQueryVariables>;
export const CancelBroadcastDocument = new TypedDocumentString(`
    mutation CancelBroadcast($id: Int!) {
  cancelBroadcast(id: $id) {
    ...CancelBroadcastResult
  }
}
    fragment CancelBroadcastResult on Broadcast {
  id
  status
  finishedAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:eb53ed816e776ae74bb97340313198d85d5474fa1e2ba1892142ab9d6aee4c33"}) as unknown as TypedDocumentString<CancelBroadcastMutation, CancelBroadcastMutationVariables>;
export const CreateBroadcastDocument = new TypedDocumentString(`
    mutation CreateBroadcast($input: CreateBroadcastInput!) {
  createBroadcast(input: $input) {
    ...CreateBroadcastResult
  }
}
    fragment CreateBroadcastResult on Broadcast {
  id
  title
  text
  parseMode
  status
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  startedAt
  finishedAt
  createdAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:91d61364801b737b5341560f8d5bdbd5645bc23ddbfbe19249592801205d57b8"}) as unknown as TypedDocumentString<CreateBroadcastMutation, CreateBroadcastMutationVariables>;
export const PauseBroadcastDocument = new TypedDocumentString(`
    mutation PauseBroadcast($id: Int!) {
  pauseBroadcast(id: $id) {
    ...PauseBroadcastResult
  }
}
    fragment PauseBroadcastResult on Broadcast {
  id
  status
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:d95a1e036fd79d7c67c533a73fc32673d10e445a07901ad796016da543061595"}) as unknown as TypedDocumentString<PauseBroadcastMutation, PauseBroadcastMutationVariables>;
export const ResumeBroadcastDocument = new TypedDocumentString(`
    mutation ResumeBroadcast($id: Int!) {
  resumeBroadcast(id: $id) {
    ...ResumeBroadcastResult
  }
}
    fragment ResumeBroadcastResult on Broadcast {
  id
  status
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:08c46d1b77cbc0a924c4738b1b77be7f88fa8852c857a3b16ce45ba63cab5c87"}) as unknown as TypedDocumentString<ResumeBroadcastMutation, ResumeBroadcastMutationVariables>;
export const ScheduleBroadcastDocument = new TypedDocumentString(`
    mutation ScheduleBroadcast($id: Int!, $at: DateTime!) {
  scheduleBroadcast(id: $id, at: $at) {
    ...ScheduleBroadcastResult
  }
}
    fragment ScheduleBroadcastResult on Broadcast {
  id
  status
  scheduledAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:190fa72d60bd58f980ea3752c8d9e9065eaf517d5d3442f7eec413a01de78206"}) as unknown as TypedDocumentString<ScheduleBroadcastMutation, ScheduleBroadcastMutationVariables>;
export const SendBroadcastNowDocument = new TypedDocumentString(`
    mutation SendBroadcastNow($id: Int!) {
  sendBroadcastNow(id: $id) {
    ...SendBroadcastNowResult
  }
}
    fragment SendBroadcastNowResult on Broadcast {
  id
  status
  scheduledAt
  startedAt
  finishedAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:07b7a30332e8e25019e05d180d483fd6831e8a2c6f414179d28c4f5071e2ffbd"}) as unknown as TypedDocumentString<SendBroadcastNowMutation, SendBroadcastNowMutationVariables>;
export const UpdateBroadcastDocument = new TypedDocumentString(`
    mutation UpdateBroadcast($id: Int!, $input: UpdateBroadcastInput!) {
  updateBroadcast(id: $id, input: $input) {
    ...UpdateBroadcastResult
  }
}
    fragment UpdateBroadcastResult on Broadcast {
  id
  title
  text
  parseMode
  status
  segmentId
  segment {
    id
    name
  }
  promoPercent
  scheduledAt
  updatedAt
  stats {
    status
    total
    sent
    failed
    blocked
    pending
  }
}`, {"hash":"sha256:5b67973923f3fb2e1842f83b1ea517c5db8971457c7bb6a42b9e553582e7110e"}) as unknown as TypedDocumentString<UpdateBroadcastMutation, UpdateBroadcastMutationVariables>;
export const BulkIssueDiscountDocument = new TypedDocumentString(`
    mutation BulkIssueDiscount($selection: CustomerSelection!, $kind: DiscountKind! = MANUAL, $reason: String!, $percent: Int, $validDays: Int) {
  bulkIssueDiscount(
    selection: $selection
    kind: $kind
    reason: $reason
    percent: $percent
    validDays: $validDays
  ) {
    affected
    jobId
  }
}
    `, {"hash":"sha256:bb18c25f0505485d1ad41051ca4cb08c2bf6078b7b5cdbb87a08dc9ef0852bbd"}) as unknown as TypedDocumentString<BulkIssueDiscountMutation, BulkIssueDiscountMutationVariables>;
export const BulkTagCustomersDocument = new TypedDocumentString(`
    mutation BulkTagCustomers($selection: CustomerSelection!, $add: [String!], $remove: [String!]) {
  bulkTagCustomers(selection: $selection, add: $add, remove: $remove) {
    affected
    jobId
  }
}
    `, {"hash":"sha256:319d568d69919ba86d17f28d73aa00fdd4413e32bbeabfc30e3a6aec9c2e8e2c"}) as unknown as TypedDocumentString<BulkTagCustomersMutation, BulkTagCustomersMutationVariables>;
export const CustomerCardDocument = new TypedDocumentString(`
    query CustomerCard($id: Int!) {
  customer(id: $id) {
    id
    telegramId
    firstName
    lastName
    username
    phone
    birthday
    language
    source
    status
    note
    createdAt
    lastSeenAt
    subscribedAt
    tags
    discounts {
      ...CustomerCardDiscount
    }
  }
}
    fragment CustomerCardDiscount on Discount {
  id
  kind
  percent
  code
  status
  issuedAt
  expiresAt
  validThrough
  redeemedAt
  cancelledAt
  issuedBy
  issuedByAdminId
  reason
  purchaseAmount
  store
  broadcastId
  cashier {
    id
    name
    store
  }
}`, {"hash":"sha256:ea941b02d82e28e4f7303ba393af4224a9f6c1f7add404df18601955f58916d0"}) as unknown as TypedDocumentString<CustomerCardQuery, CustomerCardQueryVariables>;
export const CustomerListDocument = new TypedDocumentString(`
    query CustomerList($first: Int! = 50, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        ...CustomerListRow
      }
    }
  }
}
    fragment CustomerListRow on Customer {
  id
  telegramId
  firstName
  lastName
  username
  phone
  status
  birthday
  source
  tags
  createdAt
  lastSeenAt
}`, {"hash":"sha256:78a057a84104db3185b79c58671ba2d7e7338342be4e113953985cb89aa3ceef"}) as unknown as TypedDocumentString<CustomerListQuery, CustomerListQueryVariables>;
export const EraseCustomerDocument = new TypedDocumentString(`
    mutation EraseCustomer($customerId: Int!, $reason: String!) {
  eraseCustomer(customerId: $customerId, reason: $reason) {
    cancelledCodes
    customer {
      id
      firstName
      status
    }
  }
}
    `, {"hash":"sha256:b2a13d94f3f91b168beee0e41073438fc45566e715e3c14763635af29375ef69"}) as unknown as TypedDocumentString<EraseCustomerMutation, EraseCustomerMutationVariables>;
export const SendCustomerMessageDocument = new TypedDocumentString(`
    mutation SendCustomerMessage($customerId: Int!, $templateKey: String, $text: String, $parseMode: ParseMode! = PLAIN) {
  sendCustomerMessage(
    customerId: $customerId
    templateKey: $templateKey
    text: $text
    parseMode: $parseMode
  ) {
    id
    customerId
    status
    reason
    notBefore
    sentAt
  }
}
    `, {"hash":"sha256:6192ad15c517b07a7d248d1cdc07b98ee44c0b0583ec9fc32bfac796e2f733ca"}) as unknown as TypedDocumentString<SendCustomerMessageMutation, SendCustomerMessageMutationVariables>;
export const SetCustomerSubscriptionDocument = new TypedDocumentString(`
    mutation SetCustomerSubscription($customerId: Int!, $subscribed: Boolean!, $reason: String!) {
  setCustomerSubscription(
    customerId: $customerId
    subscribed: $subscribed
    reason: $reason
  ) {
    id
    status
    subscribedAt
  }
}
    `, {"hash":"sha256:a117686dfbd5e88099aeb6a6eeb47692ab6acce2e92433892dd31c883619368b"}) as unknown as TypedDocumentString<SetCustomerSubscriptionMutation, SetCustomerSubscriptionMutationVariables>;
export const UpdateCustomerDocument = new TypedDocumentString(`
    mutation UpdateCustomer($id: Int!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) {
    id
    firstName
    lastName
    username
    phone
    birthday
    note
    status
    tags
  }
}
    `, {"hash":"sha256:6fc03dc4c3955b879a2abbe6a134475a92d1bc66289074a0dcf0eb6a75a43e32"}) as unknown as TypedDocumentString<UpdateCustomerMutation, UpdateCustomerMutationVariables>;
export const KpiDashboardDocument = new TypedDocumentString(`
    query KpiDashboard($start: Date!, $end: Date!, $granularity: Granularity! = DAY) {
  kpi(start: $start, end: $end, granularity: $granularity) {
    start
    end
    granularity
    zone
    asOf
    buckets
    customers {
      total
      new
      active
      unsubscribed
      blocked
      newCustomers {
        ...KpiDashboardSeries
      }
      totalCustomers {
        ...KpiDashboardSeries
      }
    }
    discounts {
      overall {
        ...KpiDashboardDiscountFigures
      }
      byKind {
        ...KpiDashboardDiscountFigures
      }
    }
    redemptions {
      byCashier {
        cashierId
        name
        store
        count
      }
      byStore {
        store
        count
        series {
          ...KpiDashboardSeries
        }
      }
    }
    broadcasts {
      broadcastId
      title
      sent
      issued
      redeemed
      conversion
      sentConversion
    }
  }
}
    fragment KpiDashboardDiscountFigures on DiscountKindKpi {
  kind
  issued
  redeemed
  converted
  conversion
  issuedSeries {
    ...KpiDashboardSeries
  }
  redeemedSeries {
    ...KpiDashboardSeries
  }
}
fragment KpiDashboardSeries on Series {
  name
  total
  points {
    bucket
    value
  }
}`, {"hash":"sha256:3a65e6eed409ccd9d5480e58ecbcd2d3444d4d7f79624a21d1e80fc35abb3928"}) as unknown as TypedDocumentString<KpiDashboardQuery, KpiDashboardQueryVariables>;
export const CancelDiscountDocument = new TypedDocumentString(`
    mutation CancelDiscount($id: Int!, $reason: String) {
  cancelDiscount(id: $id, reason: $reason) {
    id
    status
    cancelledAt
    reason
  }
}
    `, {"hash":"sha256:6b97ea46d5350dede72fc026116989f542165521c1751ffa26479af2f6521e94"}) as unknown as TypedDocumentString<CancelDiscountMutation, CancelDiscountMutationVariables>;
export const DiscountByCodeDocument = new TypedDocumentString(`
    query DiscountByCode($code: String!) {
  discount(code: $code) {
    id
    customerId
    kind
    percent
    code
    status
    issuedAt
    expiresAt
    validThrough
    redeemedAt
    cancelledAt
    issuedBy
    issuedByAdminId
    reason
    purchaseAmount
    store
    broadcastId
    customer {
      id
      firstName
      lastName
      username
      phone
      status
    }
    cashier {
      id
      name
      store
    }
  }
}
    `, {"hash":"sha256:dede48a897b5b0bf0cb6f0719ef5b25279a1807f5db9663b50b53f3e2f26a529"}) as unknown as TypedDocumentString<DiscountByCodeQuery, DiscountByCodeQueryVariables>;
export const DiscountListDocument = new TypedDocumentString(`
    query DiscountList($first: Int! = 50, $after: String, $filter: DiscountFilter) {
  discounts(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        ...DiscountListRow
      }
    }
  }
}
    fragment DiscountListRow on Discount {
  id
  customerId
  kind
  percent
  code
  status
  issuedAt
  expiresAt
  validThrough
  redeemedAt
  cancelledAt
  issuedBy
  issuedByAdminId
  reason
  purchaseAmount
  store
  broadcastId
  customer {
    id
    firstName
    lastName
  }
  cashier {
    id
    name
    store
  }
}`, {"hash":"sha256:4cd83d0a36d23c54a41841139ddd93ac233290f36f757dc0d19036292d9becf2"}) as unknown as TypedDocumentString<DiscountListQuery, DiscountListQueryVariables>;
export const DiscountNotificationDocument = new TypedDocumentString(`
    query DiscountNotification($id: Int!) {
  discount(id: $id) {
    id
    code
    issuedAt
    notification {
      id
      status
      reason
      notBefore
      sentAt
    }
  }
}
    `, {"hash":"sha256:1d6ad1d993479cb27df2027f8c1283a32619576dade2e8c9daabbdb4d9c32654"}) as unknown as TypedDocumentString<DiscountNotificationQuery, DiscountNotificationQueryVariables>;
export const DiscountStatsDocument = new TypedDocumentString(`
    query DiscountStats($start: Date!, $end: Date!) {
  discountStats(start: $start, end: $end) {
    start
    end
    zone
    issued
    byStatus {
      status
      count
    }
    byKind {
      kind
      count
    }
    averagePercent
    redeemed
    purchaseTotal
  }
}
    `, {"hash":"sha256:92052c4b7f0efd9721152edf62e3b8d47600989fb91feaf6246918d0db4a4fcb"}) as unknown as TypedDocumentString<DiscountStatsQuery, DiscountStatsQueryVariables>;
export const IssueDiscountDocument = new TypedDocumentString(`
    mutation IssueDiscount($input: IssueDiscountInput!) {
  issueDiscount(input: $input) {
    id
    customerId
    kind
    percent
    code
    status
    issuedAt
    expiresAt
    validThrough
    issuedBy
    issuedByAdminId
    reason
    customer {
      id
      firstName
      lastName
    }
  }
}
    `, {"hash":"sha256:78cce2d548b96b9ded048cd4df180de89d8eb426babec32ffe8015418ff03ba1"}) as unknown as TypedDocumentString<IssueDiscountMutation, IssueDiscountMutationVariables>;
export const JobDocument = new TypedDocumentString(`
    query Job($id: String!) {
  job(id: $id) {
    id
    kind
    state
    total
    done
    error
    createdAt
    startedAt
    finishedAt
  }
}
    `, {"hash":"sha256:03cfa4f7aaf38357b1752dc824cc25f6d14a709bf63850cdd9a50264ee652684"}) as unknown as TypedDocumentString<JobQuery, JobQueryVariables>;
export const JobListDocument = new TypedDocumentString(`
    query JobList($first: Int = 20, $after: String) {
  jobs(first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        kind
        state
        total
        done
        createdAt
        finishedAt
      }
    }
  }
}
    `, {"hash":"sha256:4fcc9a248b657ff5ec723d231e60ee1ed4bc9b43e913c1870154235ea5e70827"}) as unknown as TypedDocumentString<JobListQuery, JobListQueryVariables>;
export const JobProgressDocument = new TypedDocumentString(`
    subscription JobProgress($id: String!) {
  jobProgress(id: $id) {
    id
    state
    total
    done
    error
  }
}
    `, {"hash":"sha256:8d78cad9be9b67593d3ab107b8163528111630515c9ef3afe598c2e842a4c137"}) as unknown as TypedDocumentString<JobProgressSubscription, JobProgressSubscriptionVariables>;
export const CreateSegmentDocument = new TypedDocumentString(`
    mutation CreateSegment($name: String!, $rules: JSON!, $description: String) {
  createSegment(name: $name, rules: $rules, description: $description) {
    id
    name
    description
    rules
    count
    createdAt
    updatedAt
  }
}
    `, {"hash":"sha256:440733a56a905079bf4d1d7f37447a0eba24e6dd93f5db15159e872e5e7c04ef"}) as unknown as TypedDocumentString<CreateSegmentMutation, CreateSegmentMutationVariables>;
export const DeleteSegmentDocument = new TypedDocumentString(`
    mutation DeleteSegment($id: Int!) {
  deleteSegment(id: $id)
}
    `, {"hash":"sha256:e3b63562bf7d24b479aa4e5d5b14c2ca0f77dd3121b2fd0617adf71fb6bfa12a"}) as unknown as TypedDocumentString<DeleteSegmentMutation, DeleteSegmentMutationVariables>;
export const PreviewSegmentDocument = new TypedDocumentString(`
    query PreviewSegment($rules: JSON!, $first: Int! = 10) {
  previewSegment(rules: $rules, first: $first) {
    count
    sample {
      ...PreviewSegmentMember
    }
  }
}
    fragment PreviewSegmentMember on Customer {
  id
  firstName
  lastName
  username
  status
  tags
}`, {"hash":"sha256:7e52aafd7a6d09be08992ba48599606a4557ca6c12cadef0aaf1a8c27c662276"}) as unknown as TypedDocumentString<PreviewSegmentQuery, PreviewSegmentQueryVariables>;
export const SegmentDetailDocument = new TypedDocumentString(`
    query SegmentDetail($id: Int!, $previewFirst: Int! = 10) {
  segment(id: $id) {
    id
    name
    description
    rules
    createdAt
    updatedAt
    count
    preview(first: $previewFirst) {
      ...SegmentDetailMember
    }
  }
}
    fragment SegmentDetailMember on Customer {
  id
  firstName
  lastName
  username
  phone
  status
  tags
  lastSeenAt
}`, {"hash":"sha256:55fc10a1c5e984668127532fd864c09892df9734fc7a673c402080386e92c93b"}) as unknown as TypedDocumentString<SegmentDetailQuery, SegmentDetailQueryVariables>;
export const SegmentsDocument = new TypedDocumentString(`
    query Segments {
  segments {
    id
    name
    description
    rules
    count
    createdAt
    updatedAt
  }
}
    `, {"hash":"sha256:ccb9ffd6a2d084b70480fd65b4500717d4ae255e7e77d2c789e9feb91144f818"}) as unknown as TypedDocumentString<SegmentsQuery, SegmentsQueryVariables>;
export const UpdateSegmentDocument = new TypedDocumentString(`
    mutation UpdateSegment($id: Int!, $name: String, $rules: JSON, $description: String) {
  updateSegment(id: $id, name: $name, rules: $rules, description: $description) {
    id
    name
    description
    rules
    count
    createdAt
    updatedAt
  }
}
    `, {"hash":"sha256:c8846df977e492a4d8f72d5ec64e001d0bf252786c9ceb815e14b9025b696ea1"}) as unknown as TypedDocumentString<UpdateSegmentMutation, UpdateSegmentMutationVariables>;
export const SettingsDocument = new TypedDocumentString(`
    query Settings {
  settings {
    key
    value
    default
    description
    type
    minimum
    maximum
  }
}
    `, {"hash":"sha256:a21c126a7ae17d247fdc1922047d4abf8ff72087ab22c46de0113e5152aa2293"}) as unknown as TypedDocumentString<SettingsQuery, SettingsQueryVariables>;
export const UpdateSettingDocument = new TypedDocumentString(`
    mutation UpdateSetting($key: String!, $value: JSON!) {
  updateSetting(key: $key, value: $value) {
    key
    value
    default
    description
    type
    minimum
    maximum
  }
}
    `, {"hash":"sha256:dd263aef1e0bc673d27c92a55400b8cd1b77d70af6f9d9eaac348e4264cf61d8"}) as unknown as TypedDocumentString<UpdateSettingMutation, UpdateSettingMutationVariables>;
export const AdminsDocument = new TypedDocumentString(`
    query Admins {
  admins {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"hash":"sha256:01344ee458135d903636f95d1090bb550d524153c025af03fc18fbae2ed4a539"}) as unknown as TypedDocumentString<AdminsQuery, AdminsQueryVariables>;
export const CashiersDocument = new TypedDocumentString(`
    query Cashiers {
  cashiers {
    id
    name
    store
    isActive
    joinedAt
    createdAt
  }
}
    `, {"hash":"sha256:d0254c28398ea6ce803f18ce3d135efabca07ddd146e982d6c70277886fdb687"}) as unknown as TypedDocumentString<CashiersQuery, CashiersQueryVariables>;
export const CreateAdminDocument = new TypedDocumentString(`
    mutation CreateAdmin($input: CreateAdminInput!) {
  createAdmin(input: $input) {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"hash":"sha256:07ebedfaae7a33e553bf054d84d6f3db8b7cfd7f2ebd549eb71826dd44192d3a"}) as unknown as TypedDocumentString<CreateAdminMutation, CreateAdminMutationVariables>;
export const InviteCashierDocument = new TypedDocumentString(`
    mutation InviteCashier($name: String!, $store: String!) {
  inviteCashier(name: $name, store: $store) {
    inviteCode
    expiresAt
    cashier {
      id
      name
      store
      isActive
      joinedAt
      createdAt
    }
  }
}
    `, {"hash":"sha256:6d23bf77b54f8c61cf285e934a7fe4374c6a5453bb88b7b24be033d4bd527346"}) as unknown as TypedDocumentString<InviteCashierMutation, InviteCashierMutationVariables>;
export const SetCashierActiveDocument = new TypedDocumentString(`
    mutation SetCashierActive($id: Int!, $active: Boolean!) {
  setCashierActive(id: $id, active: $active) {
    id
    name
    store
    isActive
    joinedAt
    createdAt
  }
}
    `, {"hash":"sha256:56f5212ec3d10e6b12f73111abee5e9c01cb5d5715f8ff4fce50f4f6b41c3541"}) as unknown as TypedDocumentString<SetCashierActiveMutation, SetCashierActiveMutationVariables>;
export const UpdateAdminDocument = new TypedDocumentString(`
    mutation UpdateAdmin($id: Int!, $input: UpdateAdminInput!) {
  updateAdmin(id: $id, input: $input) {
    id
    email
    role
    telegramId
    isActive
    createdAt
  }
}
    `, {"hash":"sha256:2210e29ce725ded3d36d39d9bd2fcae31fc9a56db221cd5afbd3475b0e8f7067"}) as unknown as TypedDocumentString<UpdateAdminMutation, UpdateAdminMutationVariables>;
export const RetryTaskRunDocument = new TypedDocumentString(`
    mutation RetryTaskRun($id: Int!) {
  retryTaskRun(id: $id) {
    id
    taskId
    task
    state
    queuedAt
    retryOf
  }
}
    `, {"hash":"sha256:c0636fcc85ceb746a42285b82a27956e1e793d533dfbe4ef03975d514844ce80"}) as unknown as TypedDocumentString<RetryTaskRunMutation, RetryTaskRunMutationVariables>;
export const TaskRunsDocument = new TypedDocumentString(`
    query TaskRuns($first: Int! = 50, $after: String, $task: String, $state: TaskRunState) {
  taskRuns(first: $first, after: $after, filter: {task: $task, state: $state}) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        id
        taskId
        task
        state
        queuedAt
        startedAt
        finishedAt
        attempts
        worker
        errorType
        error
        retryable
        retryOf
        retriedAs
      }
    }
  }
}
    `, {"hash":"sha256:c24becc561c199502d1295ac40defc87ae7141e0dae54644d94d14714161a62d"}) as unknown as TypedDocumentString<TaskRunsQuery, TaskRunsQueryVariables>;
export const TaskStatsDocument = new TypedDocumentString(`
    query TaskStats($since: DateTime!) {
  taskStats(since: $since) {
    task
    queued
    running
    succeeded
    failed
    runsPerMinute
  }
}
    `, {"hash":"sha256:62e355c10fbbc991b80199a65008b9ea27bf77796edbb18a159376f92c636ed6"}) as unknown as TypedDocumentString<TaskStatsQuery, TaskStatsQueryVariables>;
export const CreateTemplateDocument = new TypedDocumentString(`
    mutation CreateTemplate($key: String!, $text: String!, $parseMode: ParseMode! = PLAIN, $description: String) {
  createTemplate(
    key: $key
    text: $text
    parseMode: $parseMode
    description: $description
  ) {
    id
    key
    text
    parseMode
    description
    updatedAt
    placeholders
  }
}
    `, {"hash":"sha256:e38db7c21f052b56e7c257a3e47a76e655aab7b49b56531e69b39476cfc48151"}) as unknown as TypedDocumentString<CreateTemplateMutation, CreateTemplateMutationVariables>;
export const DeleteTemplateDocument = new TypedDocumentString(`
    mutation DeleteTemplate($key: String!) {
  deleteTemplate(key: $key)
}
    `, {"hash":"sha256:8fc25f199245373bcb78639c82eea253a201b3a9f318347e386bd9fc7c5c9b33"}) as unknown as TypedDocumentString<DeleteTemplateMutation, DeleteTemplateMutationVariables>;
export const TemplatesDocument = new TypedDocumentString(`
    query Templates {
  templates {
    id
    key
    text
    parseMode
    description
    updatedAt
    placeholders
  }
}
    `, {"hash":"sha256:5461a60be7aead093fa031a676716999b2244464a4e9d44305d9261039c79185"}) as unknown as TypedDocumentString<TemplatesQuery, TemplatesQueryVariables>;
export const UpdateTemplateDocument = new TypedDocumentString(`
    mutation UpdateTemplate($key: String!, $text: String, $parseMode: ParseMode, $description: String) {
  updateTemplate(
    key: $key
    text: $text
    parseMode: $parseMode
    description: $description
  ) {
    id
    key
    text
    parseMode
    description
    updatedAt
    placeholders
  }
}
    `, {"hash":"sha256:63386a08360aa69e07c91b099006db11269aca571a83784512cbb805a4b2add7"}) as unknown as TypedDocumentString<UpdateTemplateMutation, UpdateTemplateMutationVariables>;