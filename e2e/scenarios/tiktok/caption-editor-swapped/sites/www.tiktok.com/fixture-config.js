// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "captionSwap": true,
  "swapMs": 700,
  "newId": "7452000000000000601",
  "uploadMs": 2000
};
