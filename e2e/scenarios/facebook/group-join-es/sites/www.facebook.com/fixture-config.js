// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "locale": "es",
  "groups": {
    "1577315533418837": {
      "slug": "clawtesters",
      "name": "Claw Testers",
      "membership": "not_member",
      "privacy": "public",
      "postApproval": false,
      "joinApproval": false
    }
  }
};
