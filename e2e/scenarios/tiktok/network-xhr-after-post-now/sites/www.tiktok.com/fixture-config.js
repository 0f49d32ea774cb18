// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "postNow": true,
  "createCall": "xhr",
  "listDelayMs": 30000,
  "uploadMs": 2000
};
