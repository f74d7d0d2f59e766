"""Game days: incident drills that run through the real alert and incident flow, scored afterwards."""
