// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "classic",
  "shareActive": false,
  "submit": "ok",
  "toastLink": false,
  "feedInsert": true,
  "feedInsertMs": 800,
  "richText": true,
  "newPostId": "7402111111111111111",
  "feedSeed": [
    {
      "id": "7391000000000000011",
      "text": "Spring release notes are out #OpenSource"
    }
  ]
};
