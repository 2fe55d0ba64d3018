"""The inbox service (the mail room): mailboxes, the send ledger, suppressions, every message in and out, threads."""
