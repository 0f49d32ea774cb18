// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "appContext": true,
  "createCall": "fetch",
  "neverListed": true,
  "uploadMs": 2000
};
