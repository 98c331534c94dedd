"""Background work: task handlers (thin wrappers over domain services) and their queues."""
