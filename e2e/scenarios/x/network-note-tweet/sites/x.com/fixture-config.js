// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "premium": true,
  "noteTweets": true,
  "network": "fetch",
  "noteQueryId": "iCUB42lIfXf9qPKctjE5rQ",
  "toast": "none",
  "profile": "stale"
};
