"""What every role's handlers share: rendering helpers, the role guard, callback data, the main menu."""
