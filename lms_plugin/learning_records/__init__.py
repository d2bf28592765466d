"""The app's xAPI adapter: listens to assessment and credential events, maps courses and people to
xAPI actors and contexts, and writes the statements into the outbox (`xapi.outbox`)."""
