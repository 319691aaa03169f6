"""Privacy: a contact's data exported or erased, the suppression list, and retention by age."""
