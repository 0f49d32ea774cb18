// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "classic",
  "shareActive": false,
  "submit": "ok",
  "createCall": "fetch",
  "toastLink": false,
  "feedInsert": false,
  "newPostId": "7402000000000000077"
};
