// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "permalinks": "lazy",
  "toast": "published",
  "nextPostUrl": "https://www.facebook.com/clawtest/posts/pfbid02LazySameText6kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnRv4tBy9eUw3iZkMx",
  "newStoryFirst": false,
  "earlierPosts": [
    {
      "text": "Office hours today at 3 pm, same link as always.",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0SameTextOfficeHours2kQ2xWc9mYbTr8uPz5LsDf1HgJa6"
    },
    {
      "text": "Office hours are moving to Thursdays next month.",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0OfficeHoursMoving8kQ2xWc9mYbTr8uPz5LsDf1HgJa6"
    }
  ]
};
