"""The conversation: inbound messages in, the survey's turns out, whatever the channel."""
