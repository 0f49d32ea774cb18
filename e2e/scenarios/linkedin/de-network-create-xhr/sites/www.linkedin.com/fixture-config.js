// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "interop",
  "shareActive": true,
  "submit": "ok",
  "locale": "de",
  "createCall": "xhr",
  "toastLink": false,
  "feedInsert": false,
  "newPostId": "7402000000000000088"
};
