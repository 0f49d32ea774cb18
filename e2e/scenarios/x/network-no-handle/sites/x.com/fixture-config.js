// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "handle": "claw_research",
  "displayName": "Claw Research",
  "network": "xhr",
  "queryId": "Uf3io9zVp1DsYxrmL5FJ7g",
  "toast": "none",
  "profile": "stale"
};
