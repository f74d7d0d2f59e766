"""On call: schedules and rotations, iCal in and out, escalation and paging through each channel."""
