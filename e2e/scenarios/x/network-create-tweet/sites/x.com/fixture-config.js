// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "network": "xhr",
  "queryId": "SiM_cAu83R0wnrpmKQQSEw",
  "toast": "none",
  "profile": "stale"
};
