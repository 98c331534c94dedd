/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query AuditLog($first: Int! = 50, $after: String, $entityType: String, $entityId: String, $actorKind: ActorKind, $actorId: Int, $action: String) {\n  auditLog(\n    first: $first\n    after: $after\n    entityType: $entityType\n    entityId: $entityId\n    actorKind: $actorKind\n    actorId: $actorId\n    action: $action\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        at\n        actorKind\n        actorId\n        actorLabel\n        action\n        entityType\n        entityId\n        before\n        after\n      }\n    }\n  }\n}": typeof types.AuditLogDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    ...LoginSession\n  }\n}\n\nfragment LoginSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.LoginDocument,
    "mutation LoginWithToken($token: String!) {\n  loginWithToken(token: $token) {\n    ...LoginWithTokenSession\n  }\n}\n\nfragment LoginWithTokenSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.LoginWithTokenDocument,
    "mutation Logout {\n  logout\n}": typeof types.LogoutDocument,
    "query Me {\n  me {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.MeDocument,
    "query BroadcastDetail($id: Int!, $deliveriesFirst: Int! = 50, $deliveriesAfter: String, $deliveryStatus: DeliveryStatus) {\n  broadcast(id: $id) {\n    id\n    title\n    text\n    parseMode\n    status\n    segmentId\n    segment {\n      id\n      name\n      description\n      rules\n    }\n    promoPercent\n    scheduledAt\n    startedAt\n    finishedAt\n    createdAt\n    updatedAt\n    stats {\n      status\n      total\n      sent\n      failed\n      blocked\n      pending\n    }\n    deliveries(\n      first: $deliveriesFirst\n      after: $deliveriesAfter\n      status: $deliveryStatus\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...BroadcastDetailDelivery\n        }\n      }\n    }\n  }\n}\n\nfragment BroadcastDetailDelivery on Delivery {\n  id\n  customerId\n  status\n  attempts\n  lastError\n  sentAt\n  customer {\n    id\n    firstName\n    lastName\n    username\n  }\n}": typeof types.BroadcastDetailDocument,
    "subscription BroadcastProgress($id: Int!) {\n  broadcastProgress(id: $id) {\n    broadcastId\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n    workerAlive\n    rate\n    eta\n  }\n}": typeof types.BroadcastProgressDocument,
    "query Broadcasts($first: Int! = 50, $after: String, $status: [BroadcastStatus!]) {\n  broadcasts(first: $first, after: $after, status: $status) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...BroadcastsRow\n      }\n    }\n  }\n}\n\nfragment BroadcastsRow on Broadcast {\n  id\n  title\n  status\n  parseMode\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.BroadcastsDocument,
    "mutation CancelBroadcast($id: Int!) {\n  cancelBroadcast(id: $id) {\n    ...CancelBroadcastResult\n  }\n}\n\nfragment CancelBroadcastResult on Broadcast {\n  id\n  status\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.CancelBroadcastDocument,
    "mutation CreateBroadcast($input: CreateBroadcastInput!) {\n  createBroadcast(input: $input) {\n    ...CreateBroadcastResult\n  }\n}\n\nfragment CreateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.CreateBroadcastDocument,
    "mutation PauseBroadcast($id: Int!) {\n  pauseBroadcast(id: $id) {\n    ...PauseBroadcastResult\n  }\n}\n\nfragment PauseBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.PauseBroadcastDocument,
    "mutation ResumeBroadcast($id: Int!) {\n  resumeBroadcast(id: $id) {\n    ...ResumeBroadcastResult\n  }\n}\n\nfragment ResumeBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.ResumeBroadcastDocument,
    "mutation ScheduleBroadcast($id: Int!, $at: DateTime!) {\n  scheduleBroadcast(id: $id, at: $at) {\n    ...ScheduleBroadcastResult\n  }\n}\n\nfragment ScheduleBroadcastResult on Broadcast {\n  id\n  status\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.ScheduleBroadcastDocument,
    "mutation SendBroadcastNow($id: Int!) {\n  sendBroadcastNow(id: $id) {\n    ...SendBroadcastNowResult\n  }\n}\n\nfragment SendBroadcastNowResult on Broadcast {\n  id\n  status\n  scheduledAt\n  startedAt\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.SendBroadcastNowDocument,
    "mutation UpdateBroadcast($id: Int!, $input: UpdateBroadcastInput!) {\n  updateBroadcast(id: $id, input: $input) {\n    ...UpdateBroadcastResult\n  }\n}\n\nfragment UpdateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": typeof types.UpdateBroadcastDocument,
    "mutation BulkIssueDiscount($selection: CustomerSelection!, $kind: DiscountKind! = MANUAL, $reason: String!, $percent: Int, $validDays: Int) {\n  bulkIssueDiscount(\n    selection: $selection\n    kind: $kind\n    reason: $reason\n    percent: $percent\n    validDays: $validDays\n  ) {\n    affected\n    jobId\n  }\n}": typeof types.BulkIssueDiscountDocument,
    "mutation BulkTagCustomers($selection: CustomerSelection!, $add: [String!], $remove: [String!]) {\n  bulkTagCustomers(selection: $selection, add: $add, remove: $remove) {\n    affected\n    jobId\n  }\n}": typeof types.BulkTagCustomersDocument,
    "query CustomerCard($id: Int!) {\n  customer(id: $id) {\n    id\n    telegramId\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    language\n    source\n    status\n    note\n    createdAt\n    lastSeenAt\n    subscribedAt\n    tags\n    discounts {\n      ...CustomerCardDiscount\n    }\n  }\n}\n\nfragment CustomerCardDiscount on Discount {\n  id\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  cashier {\n    id\n    name\n    store\n  }\n}": typeof types.CustomerCardDocument,
    "query CustomerList($first: Int! = 50, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {\n  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...CustomerListRow\n      }\n    }\n  }\n}\n\nfragment CustomerListRow on Customer {\n  id\n  telegramId\n  firstName\n  lastName\n  username\n  phone\n  status\n  birthday\n  source\n  tags\n  createdAt\n  lastSeenAt\n}": typeof types.CustomerListDocument,
    "mutation EraseCustomer($customerId: Int!, $reason: String!) {\n  eraseCustomer(customerId: $customerId, reason: $reason) {\n    cancelledCodes\n    customer {\n      id\n      firstName\n      status\n    }\n  }\n}": typeof types.EraseCustomerDocument,
    "mutation SendCustomerMessage($customerId: Int!, $templateKey: String, $text: String, $parseMode: ParseMode! = PLAIN) {\n  sendCustomerMessage(\n    customerId: $customerId\n    templateKey: $templateKey\n    text: $text\n    parseMode: $parseMode\n  ) {\n    id\n    customerId\n    status\n    reason\n    notBefore\n    sentAt\n  }\n}": typeof types.SendCustomerMessageDocument,
    "mutation SetCustomerSubscription($customerId: Int!, $subscribed: Boolean!, $reason: String!) {\n  setCustomerSubscription(\n    customerId: $customerId\n    subscribed: $subscribed\n    reason: $reason\n  ) {\n    id\n    status\n    subscribedAt\n  }\n}": typeof types.SetCustomerSubscriptionDocument,
    "mutation UpdateCustomer($id: Int!, $input: UpdateCustomerInput!) {\n  updateCustomer(id: $id, input: $input) {\n    id\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    note\n    status\n    tags\n  }\n}": typeof types.UpdateCustomerDocument,
    "query KpiDashboard($start: Date!, $end: Date!, $granularity: Granularity! = DAY) {\n  kpi(start: $start, end: $end, granularity: $granularity) {\n    start\n    end\n    granularity\n    zone\n    asOf\n    buckets\n    customers {\n      total\n      new\n      active\n      unsubscribed\n      blocked\n      newCustomers {\n        ...KpiDashboardSeries\n      }\n      totalCustomers {\n        ...KpiDashboardSeries\n      }\n    }\n    discounts {\n      overall {\n        ...KpiDashboardDiscountFigures\n      }\n      byKind {\n        ...KpiDashboardDiscountFigures\n      }\n    }\n    redemptions {\n      byCashier {\n        cashierId\n        name\n        store\n        count\n      }\n      byStore {\n        store\n        count\n        series {\n          ...KpiDashboardSeries\n        }\n      }\n    }\n    broadcasts {\n      broadcastId\n      title\n      sent\n      issued\n      redeemed\n      conversion\n      sentConversion\n    }\n  }\n}\n\nfragment KpiDashboardDiscountFigures on DiscountKindKpi {\n  kind\n  issued\n  redeemed\n  converted\n  conversion\n  issuedSeries {\n    ...KpiDashboardSeries\n  }\n  redeemedSeries {\n    ...KpiDashboardSeries\n  }\n}\n\nfragment KpiDashboardSeries on Series {\n  name\n  total\n  points {\n    bucket\n    value\n  }\n}": typeof types.KpiDashboardDocument,
    "mutation CancelDiscount($id: Int!, $reason: String) {\n  cancelDiscount(id: $id, reason: $reason) {\n    id\n    status\n    cancelledAt\n    reason\n  }\n}": typeof types.CancelDiscountDocument,
    "query DiscountByCode($code: String!) {\n  discount(code: $code) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    redeemedAt\n    cancelledAt\n    issuedBy\n    issuedByAdminId\n    reason\n    purchaseAmount\n    store\n    broadcastId\n    customer {\n      id\n      firstName\n      lastName\n      username\n      phone\n      status\n    }\n    cashier {\n      id\n      name\n      store\n    }\n  }\n}": typeof types.DiscountByCodeDocument,
    "query DiscountList($first: Int! = 50, $after: String, $filter: DiscountFilter) {\n  discounts(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...DiscountListRow\n      }\n    }\n  }\n}\n\nfragment DiscountListRow on Discount {\n  id\n  customerId\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  customer {\n    id\n    firstName\n    lastName\n  }\n  cashier {\n    id\n    name\n    store\n  }\n}": typeof types.DiscountListDocument,
    "query DiscountNotification($id: Int!) {\n  discount(id: $id) {\n    id\n    code\n    issuedAt\n    notification {\n      id\n      status\n      reason\n      notBefore\n      sentAt\n    }\n  }\n}": typeof types.DiscountNotificationDocument,
    "query DiscountStats($start: Date!, $end: Date!) {\n  discountStats(start: $start, end: $end) {\n    start\n    end\n    zone\n    issued\n    byStatus {\n      status\n      count\n    }\n    byKind {\n      kind\n      count\n    }\n    averagePercent\n    redeemed\n    purchaseTotal\n  }\n}": typeof types.DiscountStatsDocument,
    "mutation IssueDiscount($input: IssueDiscountInput!) {\n  issueDiscount(input: $input) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    issuedBy\n    issuedByAdminId\n    reason\n    customer {\n      id\n      firstName\n      lastName\n    }\n  }\n}": typeof types.IssueDiscountDocument,
    "query Job($id: String!) {\n  job(id: $id) {\n    id\n    kind\n    state\n    total\n    done\n    error\n    createdAt\n    startedAt\n    finishedAt\n  }\n}": typeof types.JobDocument,
    "query JobList($first: Int = 20, $after: String) {\n  jobs(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        kind\n        state\n        total\n        done\n        createdAt\n        finishedAt\n      }\n    }\n  }\n}": typeof types.JobListDocument,
    "subscription JobProgress($id: String!) {\n  jobProgress(id: $id) {\n    id\n    state\n    total\n    done\n    error\n  }\n}": typeof types.JobProgressDocument,
    "mutation CreateSegment($name: String!, $rules: JSON!, $description: String) {\n  createSegment(name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": typeof types.CreateSegmentDocument,
    "mutation DeleteSegment($id: Int!) {\n  deleteSegment(id: $id)\n}": typeof types.DeleteSegmentDocument,
    "query PreviewSegment($rules: JSON!, $first: Int! = 10) {\n  previewSegment(rules: $rules, first: $first) {\n    count\n    sample {\n      ...PreviewSegmentMember\n    }\n  }\n}\n\nfragment PreviewSegmentMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  status\n  tags\n}": typeof types.PreviewSegmentDocument,
    "query SegmentDetail($id: Int!, $previewFirst: Int! = 10) {\n  segment(id: $id) {\n    id\n    name\n    description\n    rules\n    createdAt\n    updatedAt\n    count\n    preview(first: $previewFirst) {\n      ...SegmentDetailMember\n    }\n  }\n}\n\nfragment SegmentDetailMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  phone\n  status\n  tags\n  lastSeenAt\n}": typeof types.SegmentDetailDocument,
    "query Segments {\n  segments {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": typeof types.SegmentsDocument,
    "mutation UpdateSegment($id: Int!, $name: String, $rules: JSON, $description: String) {\n  updateSegment(id: $id, name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": typeof types.UpdateSegmentDocument,
    "query Settings {\n  settings {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}": typeof types.SettingsDocument,
    "mutation UpdateSetting($key: String!, $value: JSON!) {\n  updateSetting(key: $key, value: $value) {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}": typeof types.UpdateSettingDocument,
    "query Admins {\n  admins {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.AdminsDocument,
    "query Cashiers {\n  cashiers {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}": typeof types.CashiersDocument,
    "mutation CreateAdmin($input: CreateAdminInput!) {\n  createAdmin(input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.CreateAdminDocument,
    "mutation InviteCashier($name: String!, $store: String!) {\n  inviteCashier(name: $name, store: $store) {\n    inviteCode\n    expiresAt\n    cashier {\n      id\n      name\n      store\n      isActive\n      joinedAt\n      createdAt\n    }\n  }\n}": typeof types.InviteCashierDocument,
    "mutation SetCashierActive($id: Int!, $active: Boolean!) {\n  setCashierActive(id: $id, active: $active) {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}": typeof types.SetCashierActiveDocument,
    "mutation UpdateAdmin($id: Int!, $input: UpdateAdminInput!) {\n  updateAdmin(id: $id, input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": typeof types.UpdateAdminDocument,
    "mutation RetryTaskRun($id: Int!) {\n  retryTaskRun(id: $id) {\n    id\n    taskId\n    task\n    state\n    queuedAt\n    retryOf\n  }\n}": typeof types.RetryTaskRunDocument,
    "query TaskRuns($first: Int! = 50, $after: String, $task: String, $state: TaskRunState) {\n  taskRuns(first: $first, after: $after, filter: {task: $task, state: $state}) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        taskId\n        task\n        state\n        queuedAt\n        startedAt\n        finishedAt\n        attempts\n        worker\n        errorType\n        error\n        retryable\n        retryOf\n        retriedAs\n      }\n    }\n  }\n}": typeof types.TaskRunsDocument,
    "query TaskStats($since: DateTime!) {\n  taskStats(since: $since) {\n    task\n    queued\n    running\n    succeeded\n    failed\n    runsPerMinute\n  }\n}": typeof types.TaskStatsDocument,
    "mutation CreateTemplate($key: String!, $text: String!, $parseMode: ParseMode! = PLAIN, $description: String) {\n  createTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": typeof types.CreateTemplateDocument,
    "mutation DeleteTemplate($key: String!) {\n  deleteTemplate(key: $key)\n}": typeof types.DeleteTemplateDocument,
    "query Templates {\n  templates {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": typeof types.TemplatesDocument,
    "mutation UpdateTemplate($key: String!, $text: String, $parseMode: ParseMode, $description: String) {\n  updateTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": typeof types.UpdateTemplateDocument,
};
const documents: Documents = {
    "query AuditLog($first: Int! = 50, $after: String, $entityType: String, $entityId: String, $actorKind: ActorKind, $actorId: Int, $action: String) {\n  auditLog(\n    first: $first\n    after: $after\n    entityType: $entityType\n    entityId: $entityId\n    actorKind: $actorKind\n    actorId: $actorId\n    action: $action\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        at\n        actorKind\n        actorId\n        actorLabel\n        action\n        entityType\n        entityId\n        before\n        after\n      }\n    }\n  }\n}": types.AuditLogDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    ...LoginSession\n  }\n}\n\nfragment LoginSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.LoginDocument,
    "mutation LoginWithToken($token: String!) {\n  loginWithToken(token: $token) {\n    ...LoginWithTokenSession\n  }\n}\n\nfragment LoginWithTokenSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.LoginWithTokenDocument,
    "mutation Logout {\n  logout\n}": types.LogoutDocument,
    "query Me {\n  me {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.MeDocument,
    "query BroadcastDetail($id: Int!, $deliveriesFirst: Int! = 50, $deliveriesAfter: String, $deliveryStatus: DeliveryStatus) {\n  broadcast(id: $id) {\n    id\n    title\n    text\n    parseMode\n    status\n    segmentId\n    segment {\n      id\n      name\n      description\n      rules\n    }\n    promoPercent\n    scheduledAt\n    startedAt\n    finishedAt\n    createdAt\n    updatedAt\n    stats {\n      status\n      total\n      sent\n      failed\n      blocked\n      pending\n    }\n    deliveries(\n      first: $deliveriesFirst\n      after: $deliveriesAfter\n      status: $deliveryStatus\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...BroadcastDetailDelivery\n        }\n      }\n    }\n  }\n}\n\nfragment BroadcastDetailDelivery on Delivery {\n  id\n  customerId\n  status\n  attempts\n  lastError\n  sentAt\n  customer {\n    id\n    firstName\n    lastName\n    username\n  }\n}": types.BroadcastDetailDocument,
    "subscription BroadcastProgress($id: Int!) {\n  broadcastProgress(id: $id) {\n    broadcastId\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n    workerAlive\n    rate\n    eta\n  }\n}": types.BroadcastProgressDocument,
    "query Broadcasts($first: Int! = 50, $after: String, $status: [BroadcastStatus!]) {\n  broadcasts(first: $first, after: $after, status: $status) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...BroadcastsRow\n      }\n    }\n  }\n}\n\nfragment BroadcastsRow on Broadcast {\n  id\n  title\n  status\n  parseMode\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.BroadcastsDocument,
    "mutation CancelBroadcast($id: Int!) {\n  cancelBroadcast(id: $id) {\n    ...CancelBroadcastResult\n  }\n}\n\nfragment CancelBroadcastResult on Broadcast {\n  id\n  status\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.CancelBroadcastDocument,
    "mutation CreateBroadcast($input: CreateBroadcastInput!) {\n  createBroadcast(input: $input) {\n    ...CreateBroadcastResult\n  }\n}\n\nfragment CreateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.CreateBroadcastDocument,
    "mutation PauseBroadcast($id: Int!) {\n  pauseBroadcast(id: $id) {\n    ...PauseBroadcastResult\n  }\n}\n\nfragment PauseBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.PauseBroadcastDocument,
    "mutation ResumeBroadcast($id: Int!) {\n  resumeBroadcast(id: $id) {\n    ...ResumeBroadcastResult\n  }\n}\n\nfragment ResumeBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.ResumeBroadcastDocument,
    "mutation ScheduleBroadcast($id: Int!, $at: DateTime!) {\n  scheduleBroadcast(id: $id, at: $at) {\n    ...ScheduleBroadcastResult\n  }\n}\n\nfragment ScheduleBroadcastResult on Broadcast {\n  id\n  status\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.ScheduleBroadcastDocument,
    "mutation SendBroadcastNow($id: Int!) {\n  sendBroadcastNow(id: $id) {\n    ...SendBroadcastNowResult\n  }\n}\n\nfragment SendBroadcastNowResult on Broadcast {\n  id\n  status\n  scheduledAt\n  startedAt\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.SendBroadcastNowDocument,
    "mutation UpdateBroadcast($id: Int!, $input: UpdateBroadcastInput!) {\n  updateBroadcast(id: $id, input: $input) {\n    ...UpdateBroadcastResult\n  }\n}\n\nfragment UpdateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}": types.UpdateBroadcastDocument,
    "mutation BulkIssueDiscount($selection: CustomerSelection!, $kind: DiscountKind! = MANUAL, $reason: String!, $percent: Int, $validDays: Int) {\n  bulkIssueDiscount(\n    selection: $selection\n    kind: $kind\n    reason: $reason\n    percent: $percent\n    validDays: $validDays\n  ) {\n    affected\n    jobId\n  }\n}": types.BulkIssueDiscountDocument,
    "mutation BulkTagCustomers($selection: CustomerSelection!, $add: [String!], $remove: [String!]) {\n  bulkTagCustomers(selection: $selection, add: $add, remove: $remove) {\n    affected\n    jobId\n  }\n}": types.BulkTagCustomersDocument,
    "query CustomerCard($id: Int!) {\n  customer(id: $id) {\n    id\n    telegramId\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    language\n    source\n    status\n    note\n    createdAt\n    lastSeenAt\n    subscribedAt\n    tags\n    discounts {\n      ...CustomerCardDiscount\n    }\n  }\n}\n\nfragment CustomerCardDiscount on Discount {\n  id\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  cashier {\n    id\n    name\n    store\n  }\n}": types.CustomerCardDocument,
    "query CustomerList($first: Int! = 50, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {\n  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...CustomerListRow\n      }\n    }\n  }\n}\n\nfragment CustomerListRow on Customer {\n  id\n  telegramId\n  firstName\n  lastName\n  username\n  phone\n  status\n  birthday\n  source\n  tags\n  createdAt\n  lastSeenAt\n}": types.CustomerListDocument,
    "mutation EraseCustomer($customerId: Int!, $reason: String!) {\n  eraseCustomer(customerId: $customerId, reason: $reason) {\n    cancelledCodes\n    customer {\n      id\n      firstName\n      status\n    }\n  }\n}": types.EraseCustomerDocument,
    "mutation SendCustomerMessage($customerId: Int!, $templateKey: String, $text: String, $parseMode: ParseMode! = PLAIN) {\n  sendCustomerMessage(\n    customerId: $customerId\n    templateKey: $templateKey\n    text: $text\n    parseMode: $parseMode\n  ) {\n    id\n    customerId\n    status\n    reason\n    notBefore\n    sentAt\n  }\n}": types.SendCustomerMessageDocument,
    "mutation SetCustomerSubscription($customerId: Int!, $subscribed: Boolean!, $reason: String!) {\n  setCustomerSubscription(\n    customerId: $customerId\n    subscribed: $subscribed\n    reason: $reason\n  ) {\n    id\n    status\n    subscribedAt\n  }\n}": types.SetCustomerSubscriptionDocument,
    "mutation UpdateCustomer($id: Int!, $input: UpdateCustomerInput!) {\n  updateCustomer(id: $id, input: $input) {\n    id\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    note\n    status\n    tags\n  }\n}": types.UpdateCustomerDocument,
    "query KpiDashboard($start: Date!, $end: Date!, $granularity: Granularity! = DAY) {\n  kpi(start: $start, end: $end, granularity: $granularity) {\n    start\n    end\n    granularity\n    zone\n    asOf\n    buckets\n    customers {\n      total\n      new\n      active\n      unsubscribed\n      blocked\n      newCustomers {\n        ...KpiDashboardSeries\n      }\n      totalCustomers {\n        ...KpiDashboardSeries\n      }\n    }\n    discounts {\n      overall {\n        ...KpiDashboardDiscountFigures\n      }\n      byKind {\n        ...KpiDashboardDiscountFigures\n      }\n    }\n    redemptions {\n      byCashier {\n        cashierId\n        name\n        store\n        count\n      }\n      byStore {\n        store\n        count\n        series {\n          ...KpiDashboardSeries\n        }\n      }\n    }\n    broadcasts {\n      broadcastId\n      title\n      sent\n      issued\n      redeemed\n      conversion\n      sentConversion\n    }\n  }\n}\n\nfragment KpiDashboardDiscountFigures on DiscountKindKpi {\n  kind\n  issued\n  redeemed\n  converted\n  conversion\n  issuedSeries {\n    ...KpiDashboardSeries\n  }\n  redeemedSeries {\n    ...KpiDashboardSeries\n  }\n}\n\nfragment KpiDashboardSeries on Series {\n  name\n  total\n  points {\n    bucket\n    value\n  }\n}": types.KpiDashboardDocument,
    "mutation CancelDiscount($id: Int!, $reason: String) {\n  cancelDiscount(id: $id, reason: $reason) {\n    id\n    status\n    cancelledAt\n    reason\n  }\n}": types.CancelDiscountDocument,
    "query DiscountByCode($code: String!) {\n  discount(code: $code) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    redeemedAt\n    cancelledAt\n    issuedBy\n    issuedByAdminId\n    reason\n    purchaseAmount\n    store\n    broadcastId\n    customer {\n      id\n      firstName\n      lastName\n      username\n      phone\n      status\n    }\n    cashier {\n      id\n      name\n      store\n    }\n  }\n}": types.DiscountByCodeDocument,
    "query DiscountList($first: Int! = 50, $after: String, $filter: DiscountFilter) {\n  discounts(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...DiscountListRow\n      }\n    }\n  }\n}\n\nfragment DiscountListRow on Discount {\n  id\n  customerId\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  customer {\n    id\n    firstName\n    lastName\n  }\n  cashier {\n    id\n    name\n    store\n  }\n}": types.DiscountListDocument,
    "query DiscountNotification($id: Int!) {\n  discount(id: $id) {\n    id\n    code\n    issuedAt\n    notification {\n      id\n      status\n      reason\n      notBefore\n      sentAt\n    }\n  }\n}": types.DiscountNotificationDocument,
    "query DiscountStats($start: Date!, $end: Date!) {\n  discountStats(start: $start, end: $end) {\n    start\n    end\n    zone\n    issued\n    byStatus {\n      status\n      count\n    }\n    byKind {\n      kind\n      count\n    }\n    averagePercent\n    redeemed\n    purchaseTotal\n  }\n}": types.DiscountStatsDocument,
    "mutation IssueDiscount($input: IssueDiscountInput!) {\n  issueDiscount(input: $input) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    issuedBy\n    issuedByAdminId\n    reason\n    customer {\n      id\n      firstName\n      lastName\n    }\n  }\n}": types.IssueDiscountDocument,
    "query Job($id: String!) {\n  job(id: $id) {\n    id\n    kind\n    state\n    total\n    done\n    error\n    createdAt\n    startedAt\n    finishedAt\n  }\n}": types.JobDocument,
    "query JobList($first: Int = 20, $after: String) {\n  jobs(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        kind\n        state\n        total\n        done\n        createdAt\n        finishedAt\n      }\n    }\n  }\n}": types.JobListDocument,
    "subscription JobProgress($id: String!) {\n  jobProgress(id: $id) {\n    id\n    state\n    total\n    done\n    error\n  }\n}": types.JobProgressDocument,
    "mutation CreateSegment($name: String!, $rules: JSON!, $description: String) {\n  createSegment(name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": types.CreateSegmentDocument,
    "mutation DeleteSegment($id: Int!) {\n  deleteSegment(id: $id)\n}": types.DeleteSegmentDocument,
    "query PreviewSegment($rules: JSON!, $first: Int! = 10) {\n  previewSegment(rules: $rules, first: $first) {\n    count\n    sample {\n      ...PreviewSegmentMember\n    }\n  }\n}\n\nfragment PreviewSegmentMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  status\n  tags\n}": types.PreviewSegmentDocument,
    "query SegmentDetail($id: Int!, $previewFirst: Int! = 10) {\n  segment(id: $id) {\n    id\n    name\n    description\n    rules\n    createdAt\n    updatedAt\n    count\n    preview(first: $previewFirst) {\n      ...SegmentDetailMember\n    }\n  }\n}\n\nfragment SegmentDetailMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  phone\n  status\n  tags\n  lastSeenAt\n}": types.SegmentDetailDocument,
    "query Segments {\n  segments {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": types.SegmentsDocument,
    "mutation UpdateSegment($id: Int!, $name: String, $rules: JSON, $description: String) {\n  updateSegment(id: $id, name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}": types.UpdateSegmentDocument,
    "query Settings {\n  settings {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}": types.SettingsDocument,
    "mutation UpdateSetting($key: String!, $value: JSON!) {\n  updateSetting(key: $key, value: $value) {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}": types.UpdateSettingDocument,
    "query Admins {\n  admins {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.AdminsDocument,
    "query Cashiers {\n  cashiers {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}": types.CashiersDocument,
    "mutation CreateAdmin($input: CreateAdminInput!) {\n  createAdmin(input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.CreateAdminDocument,
    "mutation InviteCashier($name: String!, $store: String!) {\n  inviteCashier(name: $name, store: $store) {\n    inviteCode\n    expiresAt\n    cashier {\n      id\n      name\n      store\n      isActive\n      joinedAt\n      createdAt\n    }\n  }\n}": types.InviteCashierDocument,
    "mutation SetCashierActive($id: Int!, $active: Boolean!) {\n  setCashierActive(id: $id, active: $active) {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}": types.SetCashierActiveDocument,
    "mutation UpdateAdmin($id: Int!, $input: UpdateAdminInput!) {\n  updateAdmin(id: $id, input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}": types.UpdateAdminDocument,
    "mutation RetryTaskRun($id: Int!) {\n  retryTaskRun(id: $id) {\n    id\n    taskId\n    task\n    state\n    queuedAt\n    retryOf\n  }\n}": types.RetryTaskRunDocument,
    "query TaskRuns($first: Int! = 50, $after: String, $task: String, $state: TaskRunState) {\n  taskRuns(first: $first, after: $after, filter: {task: $task, state: $state}) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        taskId\n        task\n        state\n        queuedAt\n        startedAt\n        finishedAt\n        attempts\n        worker\n        errorType\n        error\n        retryable\n        retryOf\n        retriedAs\n      }\n    }\n  }\n}": types.TaskRunsDocument,
    "query TaskStats($since: DateTime!) {\n  taskStats(since: $since) {\n    task\n    queued\n    running\n    succeeded\n    failed\n    runsPerMinute\n  }\n}": types.TaskStatsDocument,
    "mutation CreateTemplate($key: String!, $text: String!, $parseMode: ParseMode! = PLAIN, $description: String) {\n  createTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": types.CreateTemplateDocument,
    "mutation DeleteTemplate($key: String!) {\n  deleteTemplate(key: $key)\n}": types.DeleteTemplateDocument,
    "query Templates {\n  templates {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": types.TemplatesDocument,
    "mutation UpdateTemplate($key: String!, $text: String, $parseMode: ParseMode, $description: String) {\n  updateTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}": types.UpdateTemplateDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AuditLog($first: Int! = 50, $after: String, $entityType: String, $entityId: String, $actorKind: ActorKind, $actorId: Int, $action: String) {\n  auditLog(\n    first: $first\n    after: $after\n    entityType: $entityType\n    entityId: $entityId\n    actorKind: $actorKind\n    actorId: $actorId\n    action: $action\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        at\n        actorKind\n        actorId\n        actorLabel\n        action\n        entityType\n        entityId\n        before\n        after\n      }\n    }\n  }\n}"): typeof import('./graphql').AuditLogDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    ...LoginSession\n  }\n}\n\nfragment LoginSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').LoginDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LoginWithToken($token: String!) {\n  loginWithToken(token: $token) {\n    ...LoginWithTokenSession\n  }\n}\n\nfragment LoginWithTokenSession on Session {\n  token\n  expiresAt\n  admin {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').LoginWithTokenDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Logout {\n  logout\n}"): typeof import('./graphql').LogoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').MeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query BroadcastDetail($id: Int!, $deliveriesFirst: Int! = 50, $deliveriesAfter: String, $deliveryStatus: DeliveryStatus) {\n  broadcast(id: $id) {\n    id\n    title\n    text\n    parseMode\n    status\n    segmentId\n    segment {\n      id\n      name\n      description\n      rules\n    }\n    promoPercent\n    scheduledAt\n    startedAt\n    finishedAt\n    createdAt\n    updatedAt\n    stats {\n      status\n      total\n      sent\n      failed\n      blocked\n      pending\n    }\n    deliveries(\n      first: $deliveriesFirst\n      after: $deliveriesAfter\n      status: $deliveryStatus\n    ) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...BroadcastDetailDelivery\n        }\n      }\n    }\n  }\n}\n\nfragment BroadcastDetailDelivery on Delivery {\n  id\n  customerId\n  status\n  attempts\n  lastError\n  sentAt\n  customer {\n    id\n    firstName\n    lastName\n    username\n  }\n}"): typeof import('./graphql').BroadcastDetailDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription BroadcastProgress($id: Int!) {\n  broadcastProgress(id: $id) {\n    broadcastId\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n    workerAlive\n    rate\n    eta\n  }\n}"): typeof import('./graphql').BroadcastProgressDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Broadcasts($first: Int! = 50, $after: String, $status: [BroadcastStatus!]) {\n  broadcasts(first: $first, after: $after, status: $status) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...BroadcastsRow\n      }\n    }\n  }\n}\n\nfragment BroadcastsRow on Broadcast {\n  id\n  title\n  status\n  parseMode\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').BroadcastsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelBroadcast($id: Int!) {\n  cancelBroadcast(id: $id) {\n    ...CancelBroadcastResult\n  }\n}\n\nfragment CancelBroadcastResult on Broadcast {\n  id\n  status\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').CancelBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateBroadcast($input: CreateBroadcastInput!) {\n  createBroadcast(input: $input) {\n    ...CreateBroadcastResult\n  }\n}\n\nfragment CreateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  startedAt\n  finishedAt\n  createdAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').CreateBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PauseBroadcast($id: Int!) {\n  pauseBroadcast(id: $id) {\n    ...PauseBroadcastResult\n  }\n}\n\nfragment PauseBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').PauseBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ResumeBroadcast($id: Int!) {\n  resumeBroadcast(id: $id) {\n    ...ResumeBroadcastResult\n  }\n}\n\nfragment ResumeBroadcastResult on Broadcast {\n  id\n  status\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').ResumeBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ScheduleBroadcast($id: Int!, $at: DateTime!) {\n  scheduleBroadcast(id: $id, at: $at) {\n    ...ScheduleBroadcastResult\n  }\n}\n\nfragment ScheduleBroadcastResult on Broadcast {\n  id\n  status\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').ScheduleBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SendBroadcastNow($id: Int!) {\n  sendBroadcastNow(id: $id) {\n    ...SendBroadcastNowResult\n  }\n}\n\nfragment SendBroadcastNowResult on Broadcast {\n  id\n  status\n  scheduledAt\n  startedAt\n  finishedAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').SendBroadcastNowDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateBroadcast($id: Int!, $input: UpdateBroadcastInput!) {\n  updateBroadcast(id: $id, input: $input) {\n    ...UpdateBroadcastResult\n  }\n}\n\nfragment UpdateBroadcastResult on Broadcast {\n  id\n  title\n  text\n  parseMode\n  status\n  segmentId\n  segment {\n    id\n    name\n  }\n  promoPercent\n  scheduledAt\n  updatedAt\n  stats {\n    status\n    total\n    sent\n    failed\n    blocked\n    pending\n  }\n}"): typeof import('./graphql').UpdateBroadcastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation BulkIssueDiscount($selection: CustomerSelection!, $kind: DiscountKind! = MANUAL, $reason: String!, $percent: Int, $validDays: Int) {\n  bulkIssueDiscount(\n    selection: $selection\n    kind: $kind\n    reason: $reason\n    percent: $percent\n    validDays: $validDays\n  ) {\n    affected\n    jobId\n  }\n}"): typeof import('./graphql').BulkIssueDiscountDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation BulkTagCustomers($selection: CustomerSelection!, $add: [String!], $remove: [String!]) {\n  bulkTagCustomers(selection: $selection, add: $add, remove: $remove) {\n    affected\n    jobId\n  }\n}"): typeof import('./graphql').BulkTagCustomersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerCard($id: Int!) {\n  customer(id: $id) {\n    id\n    telegramId\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    language\n    source\n    status\n    note\n    createdAt\n    lastSeenAt\n    subscribedAt\n    tags\n    discounts {\n      ...CustomerCardDiscount\n    }\n  }\n}\n\nfragment CustomerCardDiscount on Discount {\n  id\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  cashier {\n    id\n    name\n    store\n  }\n}"): typeof import('./graphql').CustomerCardDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerList($first: Int! = 50, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder) {\n  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...CustomerListRow\n      }\n    }\n  }\n}\n\nfragment CustomerListRow on Customer {\n  id\n  telegramId\n  firstName\n  lastName\n  username\n  phone\n  status\n  birthday\n  source\n  tags\n  createdAt\n  lastSeenAt\n}"): typeof import('./graphql').CustomerListDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation EraseCustomer($customerId: Int!, $reason: String!) {\n  eraseCustomer(customerId: $customerId, reason: $reason) {\n    cancelledCodes\n    customer {\n      id\n      firstName\n      status\n    }\n  }\n}"): typeof import('./graphql').EraseCustomerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SendCustomerMessage($customerId: Int!, $templateKey: String, $text: String, $parseMode: ParseMode! = PLAIN) {\n  sendCustomerMessage(\n    customerId: $customerId\n    templateKey: $templateKey\n    text: $text\n    parseMode: $parseMode\n  ) {\n    id\n    customerId\n    status\n    reason\n    notBefore\n    sentAt\n  }\n}"): typeof import('./graphql').SendCustomerMessageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetCustomerSubscription($customerId: Int!, $subscribed: Boolean!, $reason: String!) {\n  setCustomerSubscription(\n    customerId: $customerId\n    subscribed: $subscribed\n    reason: $reason\n  ) {\n    id\n    status\n    subscribedAt\n  }\n}"): typeof import('./graphql').SetCustomerSubscriptionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateCustomer($id: Int!, $input: UpdateCustomerInput!) {\n  updateCustomer(id: $id, input: $input) {\n    id\n    firstName\n    lastName\n    username\n    phone\n    birthday\n    note\n    status\n    tags\n  }\n}"): typeof import('./graphql').UpdateCustomerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query KpiDashboard($start: Date!, $end: Date!, $granularity: Granularity! = DAY) {\n  kpi(start: $start, end: $end, granularity: $granularity) {\n    start\n    end\n    granularity\n    zone\n    asOf\n    buckets\n    customers {\n      total\n      new\n      active\n      unsubscribed\n      blocked\n      newCustomers {\n        ...KpiDashboardSeries\n      }\n      totalCustomers {\n        ...KpiDashboardSeries\n      }\n    }\n    discounts {\n      overall {\n        ...KpiDashboardDiscountFigures\n      }\n      byKind {\n        ...KpiDashboardDiscountFigures\n      }\n    }\n    redemptions {\n      byCashier {\n        cashierId\n        name\n        store\n        count\n      }\n      byStore {\n        store\n        count\n        series {\n          ...KpiDashboardSeries\n        }\n      }\n    }\n    broadcasts {\n      broadcastId\n      title\n      sent\n      issued\n      redeemed\n      conversion\n      sentConversion\n    }\n  }\n}\n\nfragment KpiDashboardDiscountFigures on DiscountKindKpi {\n  kind\n  issued\n  redeemed\n  converted\n  conversion\n  issuedSeries {\n    ...KpiDashboardSeries\n  }\n  redeemedSeries {\n    ...KpiDashboardSeries\n  }\n}\n\nfragment KpiDashboardSeries on Series {\n  name\n  total\n  points {\n    bucket\n    value\n  }\n}"): typeof import('./graphql').KpiDashboardDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelDiscount($id: Int!, $reason: String) {\n  cancelDiscount(id: $id, reason: $reason) {\n    id\n    status\n    cancelledAt\n    reason\n  }\n}"): typeof import('./graphql').CancelDiscountDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DiscountByCode($code: String!) {\n  discount(code: $code) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    redeemedAt\n    cancelledAt\n    issuedBy\n    issuedByAdminId\n    reason\n    purchaseAmount\n    store\n    broadcastId\n    customer {\n      id\n      firstName\n      lastName\n      username\n      phone\n      status\n    }\n    cashier {\n      id\n      name\n      store\n    }\n  }\n}"): typeof import('./graphql').DiscountByCodeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DiscountList($first: Int! = 50, $after: String, $filter: DiscountFilter) {\n  discounts(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        ...DiscountListRow\n      }\n    }\n  }\n}\n\nfragment DiscountListRow on Discount {\n  id\n  customerId\n  kind\n  percent\n  code\n  status\n  issuedAt\n  expiresAt\n  validThrough\n  redeemedAt\n  cancelledAt\n  issuedBy\n  issuedByAdminId\n  reason\n  purchaseAmount\n  store\n  broadcastId\n  customer {\n    id\n    firstName\n    lastName\n  }\n  cashier {\n    id\n    name\n    store\n  }\n}"): typeof import('./graphql').DiscountListDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DiscountNotification($id: Int!) {\n  discount(id: $id) {\n    id\n    code\n    issuedAt\n    notification {\n      id\n      status\n      reason\n      notBefore\n      sentAt\n    }\n  }\n}"): typeof import('./graphql').DiscountNotificationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DiscountStats($start: Date!, $end: Date!) {\n  discountStats(start: $start, end: $end) {\n    start\n    end\n    zone\n    issued\n    byStatus {\n      status\n      count\n    }\n    byKind {\n      kind\n      count\n    }\n    averagePercent\n    redeemed\n    purchaseTotal\n  }\n}"): typeof import('./graphql').DiscountStatsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation IssueDiscount($input: IssueDiscountInput!) {\n  issueDiscount(input: $input) {\n    id\n    customerId\n    kind\n    percent\n    code\n    status\n    issuedAt\n    expiresAt\n    validThrough\n    issuedBy\n    issuedByAdminId\n    reason\n    customer {\n      id\n      firstName\n      lastName\n    }\n  }\n}"): typeof import('./graphql').IssueDiscountDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Job($id: String!) {\n  job(id: $id) {\n    id\n    kind\n    state\n    total\n    done\n    error\n    createdAt\n    startedAt\n    finishedAt\n  }\n}"): typeof import('./graphql').JobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query JobList($first: Int = 20, $after: String) {\n  jobs(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        kind\n        state\n        total\n        done\n        createdAt\n        finishedAt\n      }\n    }\n  }\n}"): typeof import('./graphql').JobListDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription JobProgress($id: String!) {\n  jobProgress(id: $id) {\n    id\n    state\n    total\n    done\n    error\n  }\n}"): typeof import('./graphql').JobProgressDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateSegment($name: String!, $rules: JSON!, $description: String) {\n  createSegment(name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}"): typeof import('./graphql').CreateSegmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DeleteSegment($id: Int!) {\n  deleteSegment(id: $id)\n}"): typeof import('./graphql').DeleteSegmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query PreviewSegment($rules: JSON!, $first: Int! = 10) {\n  previewSegment(rules: $rules, first: $first) {\n    count\n    sample {\n      ...PreviewSegmentMember\n    }\n  }\n}\n\nfragment PreviewSegmentMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  status\n  tags\n}"): typeof import('./graphql').PreviewSegmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SegmentDetail($id: Int!, $previewFirst: Int! = 10) {\n  segment(id: $id) {\n    id\n    name\n    description\n    rules\n    createdAt\n    updatedAt\n    count\n    preview(first: $previewFirst) {\n      ...SegmentDetailMember\n    }\n  }\n}\n\nfragment SegmentDetailMember on Customer {\n  id\n  firstName\n  lastName\n  username\n  phone\n  status\n  tags\n  lastSeenAt\n}"): typeof import('./graphql').SegmentDetailDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Segments {\n  segments {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}"): typeof import('./graphql').SegmentsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateSegment($id: Int!, $name: String, $rules: JSON, $description: String) {\n  updateSegment(id: $id, name: $name, rules: $rules, description: $description) {\n    id\n    name\n    description\n    rules\n    count\n    createdAt\n    updatedAt\n  }\n}"): typeof import('./graphql').UpdateSegmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Settings {\n  settings {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}"): typeof import('./graphql').SettingsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateSetting($key: String!, $value: JSON!) {\n  updateSetting(key: $key, value: $value) {\n    key\n    value\n    default\n    description\n    type\n    minimum\n    maximum\n  }\n}"): typeof import('./graphql').UpdateSettingDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Admins {\n  admins {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').AdminsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Cashiers {\n  cashiers {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}"): typeof import('./graphql').CashiersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateAdmin($input: CreateAdminInput!) {\n  createAdmin(input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').CreateAdminDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation InviteCashier($name: String!, $store: String!) {\n  inviteCashier(name: $name, store: $store) {\n    inviteCode\n    expiresAt\n    cashier {\n      id\n      name\n      store\n      isActive\n      joinedAt\n      createdAt\n    }\n  }\n}"): typeof import('./graphql').InviteCashierDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetCashierActive($id: Int!, $active: Boolean!) {\n  setCashierActive(id: $id, active: $active) {\n    id\n    name\n    store\n    isActive\n    joinedAt\n    createdAt\n  }\n}"): typeof import('./graphql').SetCashierActiveDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateAdmin($id: Int!, $input: UpdateAdminInput!) {\n  updateAdmin(id: $id, input: $input) {\n    id\n    email\n    role\n    telegramId\n    isActive\n    createdAt\n  }\n}"): typeof import('./graphql').UpdateAdminDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RetryTaskRun($id: Int!) {\n  retryTaskRun(id: $id) {\n    id\n    taskId\n    task\n    state\n    queuedAt\n    retryOf\n  }\n}"): typeof import('./graphql').RetryTaskRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TaskRuns($first: Int! = 50, $after: String, $task: String, $state: TaskRunState) {\n  taskRuns(first: $first, after: $after, filter: {task: $task, state: $state}) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      cursor\n      node {\n        id\n        taskId\n        task\n        state\n        queuedAt\n        startedAt\n        finishedAt\n        attempts\n        worker\n        errorType\n        error\n        retryable\n        retryOf\n        retriedAs\n      }\n    }\n  }\n}"): typeof import('./graphql').TaskRunsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TaskStats($since: DateTime!) {\n  taskStats(since: $since) {\n    task\n    queued\n    running\n    succeeded\n    failed\n    runsPerMinute\n  }\n}"): typeof import('./graphql').TaskStatsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateTemplate($key: String!, $text: String!, $parseMode: ParseMode! = PLAIN, $description: String) {\n  createTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}"): typeof import('./graphql').CreateTemplateDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DeleteTemplate($key: String!) {\n  deleteTemplate(key: $key)\n}"): typeof import('./graphql').DeleteTemplateDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Templates {\n  templates {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}"): typeof import('./graphql').TemplatesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateTemplate($key: String!, $text: String, $parseMode: ParseMode, $description: String) {\n  updateTemplate(\n    key: $key\n    text: $text\n    parseMode: $parseMode\n    description: $description\n  ) {\n    id\n    key\n    text\n    parseMode\n    description\n    updatedAt\n    placeholders\n  }\n}"): typeof import('./graphql').UpdateTemplateDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
