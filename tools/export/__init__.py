"""The report stage: the exported script and notebook, and the pictures."""
