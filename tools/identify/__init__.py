"""The identification stage: adjustment sets and DoWhy identification of the estimand."""
