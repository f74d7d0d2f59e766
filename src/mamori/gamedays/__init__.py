"""Game days: rehearsed incidents (drills) that run through the real alert, paging and incident flow."""
