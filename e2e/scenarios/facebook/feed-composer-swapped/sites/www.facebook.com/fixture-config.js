// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "composerSwap": true
};
