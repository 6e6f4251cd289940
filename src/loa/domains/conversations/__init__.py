"""Conversations between citizens and accounts, and the staff inbox."""
