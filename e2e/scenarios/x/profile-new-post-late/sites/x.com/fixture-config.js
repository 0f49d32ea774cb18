// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "toast": "none",
  "newPostId": "1866540033333333333",
  "profile": "late",
  "profileLateMs": 2500,
  "profileLoadMs": 1000,
  "pinned": {
    "id": "1790000000000000200",
    "text": "Weekly update: 3 fixes, 1 feature (pinned from last month)"
  },
  "earlierPosts": [
    {
      "id": "1790000000000000201",
      "text": "Weekly update: 3 fixes"
    },
    {
      "id": "1790000000000000202",
      "text": "Weekly update: 2 fixes, 1 feature"
    }
  ]
};
