// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "toast": "none",
  "render": "rich",
  "newPostId": "1866540022222222222",
  "pinned": {
    "id": "1790000000000000100",
    "text": "Release day 🚀\n\nPinned: how Claw Post works https://clawpost.net/docs"
  },
  "earlierPosts": [
    {
      "id": "1790000000000000101",
      "text": "Release day 🚀\n\nNotes: https://clawpost.net/changelog/2026-11-30"
    }
  ]
};
