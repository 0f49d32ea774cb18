// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "classic",
  "shareActive": false,
  "submit": "ok",
  "toastLink": false,
  "feedInsert": false,
  "recentShowsNew": false,
  "seedPosts": [
    { "id": "7391000000000000044", "text": "A post nobody can point to, except this older one." },
    { "id": "7391000000000000045", "text": "A post nobody can point to." }
  ]
};
