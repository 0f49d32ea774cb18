// Settings for the shared LinkedIn fixture (see e2e/fixtures/www.linkedin.com/li-app.js).
window.CLAW_LI_FIXTURE = {
  "loggedIn": true,
  "composer": "interop",
  "shareActive": true,
  "submit": "duplicate",
  "seedPosts": [
    { "id": "7391999999999999999", "text": "Our quarterly update is out: read it on the blog. Slides are attached below." },
    { "id": "7391234567890123456", "text": "Our quarterly update is out: read it on the blog." }
  ]
};
