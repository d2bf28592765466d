"""LTI 1.3: registrations, keys, launches, services (AGS, NRPS) and the sandbox LMS."""
