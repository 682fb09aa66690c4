"""Users: the own profile, and the admin's view of all users."""
