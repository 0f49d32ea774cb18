// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "sdui",
  "shareActive": false,
  "submit": "ok",
  "locale": "fr"
};
