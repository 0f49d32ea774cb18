// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "interop",
  "shareActive": true,
  "submit": "ok",
  "toastLink": false,
  "feedInsert": false,
  "recentDelayMs": 7000,
  "newPostId": "7402333333333333333",
  "recentTop": [
    {
      "id": "7401555555555555555",
      "text": "Quarterly numbers are in: revenue up 12% 📈",
      "author": "Dana Example"
    }
  ],
  "seedPosts": [
    {
      "id": "7391000000000000033",
      "text": "Quarterly numbers are in: revenue up 9%.\nFull report on our blog."
    }
  ]
};
