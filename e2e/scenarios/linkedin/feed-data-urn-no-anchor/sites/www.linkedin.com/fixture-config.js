// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "sdui",
  "shareActive": false,
  "submit": "ok",
  "toastLink": false,
  "feedInsert": true,
  "feedInsertMs": 1500,
  "anchors": false,
  "newPostId": "7402222222222222222",
  "feedSeed": [
    {
      "id": "7391000000000000022",
      "text": "Two lessons from our last incident review."
    }
  ]
};
