// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "toast": "none",
  "profile": "stale",
  "newPostId": "1866540099999999999",
  "earlierPosts": [
    {
      "id": "1790000000000000501",
      "text": "Sent, but nothing says which post it is — yesterday's draft"
    }
  ]
};
