"""Pure domain model: values, ids, the order state table, events and broker reports."""
