"""The Slack adapter: listeners by kind, Block Kit rendering, mrkdwn escaping."""
