// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "duplicate",
  "earlierPosts": [
    { "text": "Same words as last time", "url": "https://www.facebook.com/clawtest/posts/pfbid0EarlierPostAlreadyPublished7xQ2" }
  ]
};
