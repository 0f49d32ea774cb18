// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "groups": {
    "1577315533418837": {
      "slug": "clawtesters",
      "name": "Claw Testers",
      "membership": "joined",
      "privacy": "public",
      "postApproval": false,
      "joinApproval": false
    }
  },
  "nextPostUrl": "https://www.facebook.com/groups/1577315533418837/posts/1592031457280116/",
  "newStoryDelayMs": 2000,
  "newStoryFirst": false,
  "earlierPosts": [
    {
      "group": "1577315533418837",
      "pinned": true,
      "text": "Welcome to Claw Testers! Please read the rules before posting.",
      "url": "https://www.facebook.com/groups/1577315533418837/posts/1580000000000001/"
    },
    {
      "group": "1577315533418837",
      "text": "Hello Claw Testers, this week's build is ready for testing: build 41.",
      "url": "https://www.facebook.com/groups/1577315533418837/posts/1585000000000002/"
    }
  ]
};
