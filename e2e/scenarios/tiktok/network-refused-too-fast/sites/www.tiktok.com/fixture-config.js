// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "createCall": "fetch",
  "uploadMs": 1500
};
